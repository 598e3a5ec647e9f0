// The process one attempt runs in (forked by scheduler/child-executor.ts). It opens its own database connection,
// runs the task and reports the result; the parent keeps the run's record and heartbeat.
import type { ChildMessage, StartMessage } from './scheduler/child-executor.js';

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected) return resolve();
    process.send!(message, undefined, undefined, () => resolve());
  });
}

async function main(start: StartMessage): Promise<void> {
  const [{ validateDatabaseUrl }, { openDatabase }, { executeTask }, { loadTasks }] = await Promise.all([
    import('./core/config.js'),
    import('./core/db.js'),
    import('./core/runner.js'),
    import('./tasks/index.js'),
  ]);
  const { config } = start;
  if (config.databaseUrl) validateDatabaseUrl(config.databaseUrl); // registers the password: never printed
  if (config.central?.url) validateDatabaseUrl(config.central.url, 'CENTRAL_DATABASE_URL');
  const controller = new AbortController();
  const stop = (why: string) => controller.abort(new Error(why));
  process.once('SIGTERM', () => stop('stopped by SIGTERM'));
  // The scheduler died: stop too, rather than run on unrecorded.
  process.once('disconnect', () => {
    stop('the scheduler went away');
    setTimeout(() => process.exit(1), config.runs.stopGraceMs).unref();
  });

  const tasks = await loadTasks(config);
  const task = tasks.find(start.task);
  if (!task) throw new Error(`unknown task '${start.task}'`);
  const db = await openDatabase(config, { migrate: false, max: 2 });
  try {
    const result = await executeTask({ db, config, tasks }, task, start.run, controller.signal, (message, share) => void send({ type: 'progress', message, share }));
    await send({ type: 'done', ok: true, result });
  } finally {
    await db.close().catch(() => {});
  }
}

process.once('message', (start: StartMessage) => {
  main(start).then(
    () => process.exit(0),
    async (error: unknown) => {
      const e = error instanceof Error ? error : new Error(String(error));
      const { exitCode, hint } = e as { exitCode?: number; hint?: string };
      const { redact } = await import('./core/redact.js');
      await send({ type: 'done', ok: false, error: { name: e.name, message: redact(e.message), stack: e.stack && redact(e.stack), exitCode, hint: hint && redact(hint) } });
      process.exit(1);
    },
  );
});
