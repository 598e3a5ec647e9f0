// A task's command-line flags, derived from its arguments' schema: the launcher's task commands and the
// crontab parser read a task's flags the same way.
import { Command, Option } from 'commander';
import { describeSchedules } from './define.js';
import type { TaskManifestEntry } from './manifest.js';

/** A task's command: summary, help and one flag per argument. */
export function buildTaskCommand(entry: Pick<TaskManifestEntry, 'name' | 'summary' | 'options'> & Partial<TaskManifestEntry>): Command {
  const command = new Command(entry.name)
    .summary(entry.summary)
    .description(`${entry.description ?? entry.summary}` +
      (entry.engine ? `\n\nEngine: ${entry.engine}` +
        (entry.schedules?.length ? `; default schedule: ${describeSchedules(entry.schedules)}` : '') +
        (entry.setupOrder ? `; set-up step ${entry.setupOrder}` : '') +
        `; timeout ${entry.timeoutMs! / 1000} s; ${entry.maxAttempts} attempt(s).` : ''));
  for (const spec of entry.options) {
    const flags = spec.kind === 'boolean' ? `--${spec.flag}` : `--${spec.flag} <${spec.kind === 'number' ? 'n' : 'value'}>`;
    const option = new Option(flags, spec.description);
    if (spec.choices) option.choices(spec.choices);
    if (spec.default !== undefined) option.default(spec.default);
    if (spec.required && spec.default === undefined && spec.kind !== 'boolean') option.makeOptionMandatory();
    command.addOption(option);
    if (spec.kind === 'boolean' && spec.default === true) command.option(`--no-${spec.flag}`, `turn off --${spec.flag}`);
  }
  const positional = entry.options.find((o) => o.key === entry.positional);
  if (positional) command.argument(`[${positional.flag}]`, `the same as --${positional.flag}`);
  return command;
}

/** The flags' values, with the positional argument (when given) as its flag's value. */
export function taskCommandValues(command: Command, entry: Pick<TaskManifestEntry, 'options'> & Partial<TaskManifestEntry>): Record<string, unknown> {
  const values: Record<string, unknown> = { ...command.opts() };
  if (entry.positional && command.args[0] !== undefined) values[entry.positional] = command.args[0];
  return values;
}
