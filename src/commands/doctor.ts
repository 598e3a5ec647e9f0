// `singularity doctor [--json]`: thin; the checks are in src/doctor/. Exit 0 when no check fails
// (warnings allowed), 1 when any fails, 2 when the database cannot be reached (as `status` says down).
import { announceEmbeddedStart, type GlobalOptions } from './context.js';
import { loadConfig } from '../core/config.js';
import { EXIT } from '../core/errors.js';
import { out, paint, printJson } from './output.js';
import type { Verdict } from '../doctor/index.js';

const LABEL: Record<Verdict, [string, 'green' | 'yellow' | 'red']> = { ok: ['ok  ', 'green'], warn: ['warn', 'yellow'], fail: ['FAIL', 'red'] };

export async function doctorCommand(opts: { json?: boolean }, globals: GlobalOptions): Promise<number> {
  const config = await loadConfig(globals);
  const [{ runDoctor }, { loadTasks }] = await Promise.all([import('../doctor/index.js'), import('../tasks/index.js')]);
  const report = await runDoctor(config, { onEmbeddedStart: announceEmbeddedStart, loadTasks: () => loadTasks(config) });
  if (opts.json || globals.json) printJson(report);
  else {
    const width = Math.max(...report.checks.map((c) => c.title.length));
    const indent = ' '.repeat(4 + 2 + width + 2);
    for (const check of report.checks) {
      const [label, colour] = LABEL[check.verdict];
      out(`${paint(process.stdout, colour, label)}  ${check.title.padEnd(width)}  ${check.detail.replace(/\n/g, `\n${indent}`)}`);
      if (check.fix) out(`      ${paint(process.stdout, 'bold', 'fix:')} ${check.fix}`);
    }
    const count = (v: Verdict) => report.checks.filter((c) => c.verdict === v).length;
    out(`${count('ok')} ok, ${count('warn')} warning(s), ${count('fail')} failed`);
  }
  if (report.ok) return EXIT.ok;
  return report.checks.some((c) => c.id === 'database' && c.verdict === 'fail') ? EXIT.unreachable : EXIT.failed;
}
