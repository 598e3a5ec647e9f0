// The layering of src/, checked by `npm run check:deps` (dependency-cruiser) in CI.
//
// From the bottom up:
//   core       src/core/: configuration, the database, the run history, the task contract
//              (src/core/task/), the flow, locks, errors. It imports nothing of the project above it.
//   libraries  the folders that do the work (analysis, backup, cache, central, doctor, embed, ingest, knowledge, metrics, notify, pgcron, schedule,
//              scheduler, search, status, vectors, docs). They import core and each other, never a task,
//              a command or an entry.
//   tasks      src/tasks/: one file per task of the catalogue, built on core and the libraries. A task
//              never imports a command.
//   commands   src/commands/: thin commander actions that parse, call a library or a task, and print.
//   entries    src/cli.ts (the launcher), src/task-process.ts (the child a scheduler runs a task in) and
//              src/scripts/ (build-time scripts). Processes start them; no module imports them.
//
// And everywhere: no import cycle, neither between modules nor between folders; no module of src/
// imports a development dependency (they are not installed with the package).
const LIBRARIES = '^src/(analysis|backup|cache|central|doctor|docs|embed|ingest|knowledge|metrics|notify|pgcron|schedule|scheduler|search|status|vectors)/';
const ENTRIES = '^src/(cli\\.ts|task-process\\.ts|scripts/)';

module.exports = {
  forbidden: [
    {
      name: 'core-imports-only-core',
      comment: 'core is the bottom layer: it must not import a library, a task, a command or an entry.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^src/', pathNot: '^src/core/' },
    },
    {
      name: 'libraries-import-no-task-or-command',
      comment: 'A library serves tasks and commands; it must not import them.',
      severity: 'error',
      from: { path: LIBRARIES },
      to: { path: '^src/(tasks|commands)/' },
    },
    {
      name: 'tasks-import-no-command',
      comment: 'A task runs under the CLI, a scheduler child or pg_cron alike: it must not import a command.',
      severity: 'error',
      from: { path: '^src/tasks/' },
      to: { path: '^src/commands/' },
    },
    {
      name: 'nothing-imports-an-entry',
      comment: 'The launcher, the task process and the scripts are started, never imported.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: ENTRIES },
    },
    {
      name: 'no-circular',
      comment: 'An import cycle between modules.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-circular-folders',
      comment: 'An import cycle between folders: one of them belongs below the other.',
      severity: 'error',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-dev-dependencies',
      comment: 'src/ ships in the package; development dependencies are not installed with it.',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'] },
    },
    {
      name: 'no-unresolvable',
      comment: 'An import that resolves to nothing.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    // Type-only imports count: a cycle through a type is still a cycle for a reader.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
