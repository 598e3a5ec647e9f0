// The command tree, built from the task manifest and the commands beside the tasks, and the one
// top-level handler that turns every error into a message and an exit code.
import { Command, CommanderError, Option } from 'commander';
import { EXIT, isSingularityError, HardStopError } from './core/errors.js';
import { redact } from './core/redact.js';
import { RUN_STATES } from './core/run-states.js';
import { err, paint, printJson } from './commands/output.js';
import { buildTaskCommand, taskCommandValues } from './core/task/flags.js';
import type { TaskManifestEntry } from './core/task/manifest.js';
import { loadManifest } from './tasks/manifest.js';
import type { GlobalOptions } from './commands/context.js';

function addTaskCommand(program: Command, entry: TaskManifestEntry): void {
  // addCommand() does not pass on the program's settings (exit override, output) as command() does.
  const command = buildTaskCommand(entry).copyInheritedSettings(program).helpGroup('Tasks:');
  program.addCommand(command);
  command.option('--json', 'print the run as JSON').action(async (...params: unknown[]) => {
    const cmd = params.at(-1) as Command;
    const { runTaskCommand } = await import('./commands/task.js');
    const { json: _json, ...raw } = taskCommandValues(cmd, entry);
    exitCode = await runTaskCommand(entry.name, raw, cmd.optsWithGlobals<GlobalOptions>());
  });
}

function buildProgram(manifest: TaskManifestEntry[]): Command {
  const program = new Command('singularity')
    .description('Runs, schedules and records the maintenance and set-up work of a PostgreSQL-backed code-intelligence system.')
    .option('--config <file>', 'config file (default: ./singularity.config.json if present)')
    .option('--home <dir>', 'where the embedded database lives (default: $SINGULARITY_HOME or ./.singularity)')
    .option('--role <role>', 'instance (default) or central: the tasks of this role (default: $SINGULARITY_ROLE, the config file\'s "role")')
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(redact(text)), outputError: (text, write) => write(text) });
  program.addHelpText(
    'after',
    '\nExit codes: 0 success; 1 the task failed or did not run; 2 bad usage, configuration or an unreachable database.\n' +
      "Run 'singularity <command> --help' for a command's flags.",
  );

  program
    .command('migrate')
    .summary('bring the database schema up to date')
    .description('Apply pending schema migrations (tasks also do this on their own before they run).')
    .option('--status', 'only show which migrations are applied and pending')
    .option('--json', 'print JSON')
    .helpGroup('Commands:')
    .action(async (opts, cmd: Command) => {
      const { migrateCommand } = await import('./commands/migrate.js');
      exitCode = await migrateCommand(opts, cmd.optsWithGlobals<GlobalOptions>());
    });

  program
    .command('tasks')
    .summary('list every task: engine, default schedule, set-up order')
    .option('--json', 'print JSON')
    .helpGroup('Commands:')
    .action(async (opts) => {
      const { tasksCommand } = await import('./commands/tasks.js');
      exitCode = tasksCommand(manifest, opts);
    });

  program
    .command('search <query>')
    .summary('search the ingested code and the knowledge base: ranked files with path:lines, symbol and a snippet')
    .description('Hybrid search, ranked by file: PostgreSQL full-text search always (rare words weigh more; names and\n' +
      'paths more than body text), and vector similarity where the configured embedding model is available\n' +
      '(never downloaded here) and its vectors exist; code ahead of prose unless the question is about the\n' +
      'documentation; then a PageRank over the graph between the files found. Files that left the codebase\n' +
      'are never returned.')
    .option('--json', 'print the hits as JSON (each with its explain fields)')
    .option('--explain', 'say why each hit ranks where it does: its ranks in each half, words, graph score, chunks')
    .option('--limit <n>', 'how many files', '10')
    .option('--codebase <id>', 'only this codebase (leaves the knowledge base out)')
    .option('--language <language>', 'only this language')
    .helpGroup('Commands:')
    .action(async (query: string, opts, cmd: Command) => {
      const { searchCommand } = await import('./commands/search.js');
      exitCode = await searchCommand(query, opts, cmd.optsWithGlobals<GlobalOptions>());
    });

  program
    .command('status')
    .summary('health: every task\'s last and next run, overdue and failing ones; exit 0 healthy, 1 degraded, 2 down')
    .description('Every task: where it runs (pg_cron, scheduler, manual), last success, last failure, next due, overdue or\n' +
      'not, running runs; the live schedulers. Exit 0 healthy, 1 degraded (something overdue, failing or stuck),\n' +
      '2 down (the database cannot be reached).')
    .option('--json', 'print JSON (the shape is in docs/status-and-doctor.md)')
    .option('--prometheus <file>', 'also write the node-exporter textfile format to FILE')
    .option('--watch', 'a live dashboard that refreshes itself (q quits)')
    .option('--interval <duration>', 'how often --watch refreshes', '2s')
    .helpGroup('Commands:')
    .action(async (opts, cmd: Command) => {
      const { statusCommand } = await import('./commands/status.js');
      exitCode = await statusCommand(opts, cmd.optsWithGlobals<GlobalOptions>());
    });

  program
    .command('setup')
    .summary('the once-ever set-up flow: every set-up task in order; done steps are skipped')
    .description('Run the set-up tasks in their order (see `singularity tasks`). A step that already completed is skipped\n' +
      'unless --force; a failure stops the flow at that step, and the next `setup` resumes there.')
    .option('--force', 're-run steps that already completed')
    .option('--json', 'print JSON')
    .helpGroup('Commands:')
    .action(async (opts, cmd: Command) => {
      const { setupCommand } = await import('./commands/setup.js');
      exitCode = await setupCommand(opts, cmd.optsWithGlobals<GlobalOptions>());
    });

  program
    .command('doctor')
    .summary('diagnose: every check with its verdict and the fix')
    .description('Check the database, its extensions, pg_cron\'s jobs, the run history, backups and the local side; each check\n' +
      'says ok, warn or FAIL, and what to do about anything not ok. Exit 0 when no check fails (warnings allowed), 1 otherwise.')
    .option('--json', 'print JSON: { ok, checks: [{ id, title, verdict, detail, fix }] }')
    .helpGroup('Commands:')
    .action(async (opts, cmd: Command) => {
      const { doctorCommand } = await import('./commands/doctor.js');
      exitCode = await doctorCommand(opts, cmd.optsWithGlobals<GlobalOptions>());
    });

  program
    .command('run-scheduler')
    .summary('run the crontab\'s entries until stopped (for systemd, supervisord, a container)')
    .description('Long-running: runs every entry of the crontab on its schedule, each run in a child process, recorded in\n' +
      'the run history. Any number of schedulers may share one database: each tick runs exactly once.\n' +
      'SIGTERM/SIGINT: stop taking ticks, let running runs finish within the shutdown grace, exit 0. SIGHUP: reload the crontab.')
    .option('--crontab <file>', 'the crontab file (default: scheduler.crontab from the config, else the default crontab)')
    .addOption(new Option('--log <format>', 'log line format').choices(['text', 'json']).default('text'))
    .helpGroup('Commands:')
    .action(async (opts, cmd: Command) => {
      const { runSchedulerCommand } = await import('./commands/run-scheduler.js');
      exitCode = await runSchedulerCommand(opts, cmd.optsWithGlobals<GlobalOptions>());
    });

  const crontabCommand = program
    .command('crontab')
    .summary('print the default crontab; check a crontab file; show its next runs')
    .description('Without a subcommand: print the default crontab (every scheduled task, commented) to stdout.')
    .helpGroup('Commands:')
    .action(async (_opts, cmd: Command) => {
      const { crontabPrint } = await import('./commands/crontab.js');
      exitCode = await crontabPrint(cmd.optsWithGlobals<GlobalOptions>());
    });
  crontabCommand
    .command('check <file>')
    .description('Validate a crontab file; each problem is reported with its line and column (exit 2 if any).')
    .option('--json', 'print JSON')
    .action(async (file: string, opts, cmd: Command) => {
      const { crontabCheck } = await import('./commands/crontab.js');
      exitCode = await crontabCheck(file, opts, cmd.optsWithGlobals<GlobalOptions>());
    });
  crontabCommand
    .command('next [file]')
    .description('The runs a crontab (default: the default crontab) will start in the coming hours, in order.')
    .option('--hours <n>', 'how far ahead to look', '24')
    .option('--json', 'print JSON')
    .action(async (file: string | undefined, opts, cmd: Command) => {
      const { crontabNext } = await import('./commands/crontab.js');
      exitCode = await crontabNext(file, opts, cmd.optsWithGlobals<GlobalOptions>());
    });

  const pgcronCommand = program
    .command('pgcron')
    .summary('put the sql tasks into pg_cron, take them out, show them')
    .helpGroup('Commands:');
  pgcronCommand
    .command('install')
    .description('Make pg_cron\'s jobs match the sql tasks of the crontab (default: the default crontab): add, change\n' +
      'and remove singularity\'s jobs only. Running it again changes nothing.')
    .option('--crontab <file>', 'take the schedules from this crontab file')
    .option('--dry-run', 'print the plan, change nothing')
    .option('--json', 'print JSON')
    .action(async (opts, cmd: Command) => {
      const { pgcronInstall } = await import('./commands/pgcron.js');
      exitCode = await pgcronInstall(opts, cmd.optsWithGlobals<GlobalOptions>());
    });
  pgcronCommand
    .command('uninstall')
    .description('Remove exactly the jobs singularity manages for this database; run-scheduler runs their tasks again.')
    .option('--dry-run', 'print what would be removed, change nothing')
    .option('--json', 'print JSON')
    .action(async (opts, cmd: Command) => {
      const { pgcronUninstall } = await import('./commands/pgcron.js');
      exitCode = await pgcronUninstall(opts, cmd.optsWithGlobals<GlobalOptions>());
    });
  pgcronCommand
    .command('status')
    .description('Each managed job: schedule, active, its last run and outcome (from cron.job_run_details).')
    .option('--json', 'print JSON')
    .action(async (opts, cmd: Command) => {
      const { pgcronStatus } = await import('./commands/pgcron.js');
      exitCode = await pgcronStatus(opts, cmd.optsWithGlobals<GlobalOptions>());
    });

  const scheduleCommand = program
    .command('schedule')
    .summary('the schedule in force, from both engines: list, pause, resume, trigger an entry')
    .helpGroup('Commands:');
  scheduleCommand
    .command('list')
    .description('Every entry in force (run-scheduler\'s crontab and pg_cron\'s jobs): schedule, time zone, engine, pause,\n' +
      'last run and next run.')
    .option('--json', 'print JSON: { entries: [...] }')
    .action(async (opts, cmd: Command) => {
      const { scheduleList } = await import('./commands/schedule.js');
      exitCode = await scheduleList(opts, cmd.optsWithGlobals<GlobalOptions>());
    });
  scheduleCommand
    .command('pause <entry>')
    .description('Pause an entry on whichever engine runs it: every run-scheduler skips its ticks (recorded as skipped),\n' +
      'pg_cron\'s job is deactivated. status shows it paused, not overdue.')
    .option('--until <time>', 'end the pause by itself: an ISO time (2026-12-08T06:00Z) or a duration from now (90m, 2h, 1d)')
    .option('--reason <text>', 'why, for whoever looks at status')
    .option('--json', 'print JSON')
    .action(async (entry: string, opts, cmd: Command) => {
      const { schedulePause } = await import('./commands/schedule.js');
      exitCode = await schedulePause(entry, opts, cmd.optsWithGlobals<GlobalOptions>());
    });
  scheduleCommand
    .command('resume <entry>')
    .description('End a pause: the entry\'s next tick runs (pg_cron\'s job is active again).')
    .option('--json', 'print JSON')
    .action(async (entry: string, opts, cmd: Command) => {
      const { scheduleResume } = await import('./commands/schedule.js');
      exitCode = await scheduleResume(entry, opts, cmd.optsWithGlobals<GlobalOptions>());
    });
  scheduleCommand
    .command('trigger <entry>')
    .description('Run an entry now, here, with its own flags from the crontab (or pg_cron job); recorded with trigger\n' +
      'manual and the entry\'s id. Exit code as for the task.')
    .option('--json', 'print the run as JSON')
    .action(async (entry: string, opts, cmd: Command) => {
      const { scheduleTrigger } = await import('./commands/schedule.js');
      exitCode = await scheduleTrigger(entry, opts, cmd.optsWithGlobals<GlobalOptions>());
    });

  const runsCommand = program
    .command('runs')
    .summary('the run history: list, show, retry, cancel')
    .helpGroup('Commands:');
  runsCommand
    .command('list')
    .description('List runs, newest first.')
    .option('--task <name>', 'only runs of this task')
    .addOption(
      new Option('--state <state>', 'only runs in this state').choices(RUN_STATES),
    )
    .option('--since <duration>', 'only runs started within this long (24h, 7d, 90m)')
    .option('--limit <n>', 'at most this many runs', '50')
    .option('--json', 'print JSON')
    .action(async (opts, cmd: Command) => {
      const { runsList } = await import('./commands/runs.js');
      exitCode = await runsList(opts, cmd.optsWithGlobals<GlobalOptions>());
    });
  for (const [name, description] of [
    ['show', 'Show one run in full: arguments, result, every attempt\'s error.'],
    ['retry', 'Run a failed, cancelled or retryable run again now (a retryable run continues with its next attempt).'],
    ['cancel', 'Cancel a waiting run, or ask an executing one to stop.'],
  ] as const) {
    runsCommand
      .command(`${name} <id>`)
      .description(description)
      .option('--json', 'print JSON')
      .action(async (id: string, opts, cmd: Command) => {
        const commands = await import('./commands/runs.js');
        const handler = { show: commands.runsShow, retry: commands.runsRetry, cancel: commands.runsCancel }[name];
        exitCode = await handler(id, opts, cmd.optsWithGlobals<GlobalOptions>());
      });
  }

  for (const entry of manifest) addTaskCommand(program, entry);
  const backup = program.commands.find((c) => c.name() === 'backup');
  if (backup) addBackupCommands(backup);
  return program;
}

/** `backup list | verify | restore` beside the task itself (`backup --type T`). */
function addBackupCommands(backup: Command): void {
  // The task's flags (--type, --json) only before a subcommand, so that `backup list --type daily` is list's.
  backup.enablePositionalOptions();
  backup
    .command('list')
    .summary('every backup recorded: type, database, time, status, size, checksum, verification')
    .description('Every backup recorded, newest first: type, database, time, status, size, checksum, verification.')
    .option('--type <type>', 'only backups of this type')
    .option('--database <name>', 'only backups of this database')
    .option('--json', 'print JSON')
    .action(async (opts, cmd: Command) => {
      const { backupList } = await import('./commands/backup.js');
      exitCode = await backupList(opts, cmd.optsWithGlobals<GlobalOptions>());
    });
  backup
    .command('verify <id>')
    .summary('prove a backup restores (checksum, pg_restore --list; --full: into a scratch database)')
    .description('Prove a backup restores: its checksum and pg_restore --list; with --full, restore it into a scratch database ' +
      "(created, then dropped) and compare every table's rows with the counts taken at dump time. Records the outcome. " +
      'Exit 0 when it verifies, 1 when it does not.')
    .option('--full', 'restore into a scratch database and compare row counts')
    .option('--json', 'print JSON')
    .action(async (id: string, opts, cmd: Command) => {
      const { backupVerify } = await import('./commands/backup.js');
      exitCode = await backupVerify(id, opts, cmd.optsWithGlobals<GlobalOptions>());
    });
  backup
    .command('restore <id>')
    .summary('restore a backup into a database (not a live one, unless --force)')
    .description('Restore a backup into a database on its server, created if missing (replacing the objects the backup holds ' +
      'where it exists); a backup of the embedded database into the embedded database of a home folder. The database ' +
      "singularity uses and the backup's own source are refused without --force. Reports the tables and rows restored; " +
      'exit 1 if any table has other rows than at dump time.')
    .requiredOption('--to <name>', 'the database to restore into (for the embedded database: a home folder)')
    .option('--force', 'allow restoring over a live database')
    .option('--json', 'print JSON')
    .action(async (id: string, opts, cmd: Command) => {
      const { backupRestore } = await import('./commands/backup.js');
      exitCode = await backupRestore(id, opts, cmd.optsWithGlobals<GlobalOptions>());
    });
}

let exitCode: number = EXIT.ok;

/** Run the CLI; resolves to the process exit code. `force` means work may still be pending: exit at once. */
export async function main(argv: string[]): Promise<{ code: number; force: boolean }> {
  exitCode = EXIT.ok;
  const json = argv.includes('--json');
  try {
    const program = buildProgram(await loadManifest());
    if (argv.length <= 2) {
      program.outputHelp();
      return { code: EXIT.ok, force: false };
    }
    await program.parseAsync(argv);
    return { code: exitCode, force: false };
  } catch (error) {
    return { code: report(error, json), force: error instanceof HardStopError };
  }
}

function report(error: unknown, json: boolean): number {
  if (error instanceof CommanderError) {
    // Help and version output are not errors; commander already printed everything.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.help' || error.code === 'commander.version') return EXIT.ok;
    return EXIT.usage;
  }
  const known = isSingularityError(error);
  const code = known ? error.exitCode : EXIT.failed;
  const message = redact(error instanceof Error ? error.message : String(error));
  const hint = known && error.hint ? redact(error.hint) : undefined;
  if (json) {
    printJson({ error: { name: known ? error.name : 'Error', message, hint }, exitCode: code });
  } else {
    err(`${paint(process.stderr, 'red', 'error:')} ${message}`);
    if (hint) err(hint.replace(/^/gm, '  '));
    if (!known || process.env.SINGULARITY_DEBUG) {
      if (error instanceof Error && error.stack) err(paint(process.stderr, 'gray', redact(error.stack)));
    }
  }
  return code;
}
