// Configuration: defaults, then the config file, then the environment, then flags; each layer overrides the last.
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './errors.js';
import { registerSecret } from './redact.js';
import { resolveWebhooks, type Webhook } from './webhooks.js';

export const CONFIG_FILE_NAME = 'singularity.config.json';

/** Where singularity runs (the task contract's roles): an instance, or the central database's host. */
export type Role = 'instance' | 'central';
const ROLE_NAMES: readonly Role[] = ['instance', 'central'];

export interface Config {
  /** This process's role: `instance` (default) or `central`; each task says which roles it runs in. */
  role: Role;
  /** A PostgreSQL connection string; undefined means the embedded database under `home`. */
  databaseUrl?: string;
  /** Where the embedded database, its socket and its log live. */
  home: string;
  /** The config file that was read, if any. */
  configPath?: string;
  embedded: {
    /** The embedded server exits after this long without a client. */
    idleTimeoutMs: number;
    /** How long a client waits for the embedded server to accept connections. */
    startTimeoutMs: number;
  };
  runs: {
    /** How often an executing run writes its heartbeat. */
    heartbeatMs: number;
    /** A run whose heartbeat is older than this is taken for dead. */
    staleAfterMs: number;
    /** How long a timed-out task gets to stop after its AbortSignal fires, before a hard stop. */
    stopGraceMs: number;
  };
  scheduler: {
    /** The crontab file run-scheduler runs; undefined means the default crontab. */
    crontab?: string;
    /** On SIGTERM/SIGINT, how long running runs may finish before they are stopped. */
    shutdownGraceMs: number;
    /** How often the scheduler looks for stale runs, due retries and a changed crontab. */
    pollMs: number;
    /** Heap limit of each run's child process (node's --max-old-space-size); undefined: node's default. */
    childMaxMemoryMb?: number;
  };
  /** Modules whose default export is a task (or a list of tasks), beside the built-in ones. */
  taskModules: string[];
  knowledge: {
    /** The folder migrate-knowledge, load-templates and sync-templates read (default: the shipped templates_data/). */
    templatesDir: string;
  };
  embedding: {
    /** The transformers.js model id (a Hugging Face repository name). */
    model: string;
    /** A local folder holding the model (air-gapped installs): <modelDir>/<model id>/config.json, tokenizer, onnx/. */
    modelDir?: string;
    /** Texts per inference call. */
    batchSize: number;
  };
  backup: {
    /** Where backup files go: <dir>/<database>/<type>/. */
    dir: string;
    /** The databases to back up; empty: the one singularity uses. */
    databases: BackupDatabase[];
  };
  /** The central database the instances share (CENTRAL_DATABASE_URL); undefined: none, learnings stay here. */
  central: {
    url?: string;
    /** This instance's name on the central database (SINGULARITY_INSTANCE; default: the host name). */
    instance: string;
    /** How the instance reaches it: postgres_fdw, a connection of singularity's own, or fdw where available. */
    link: CentralLinkMode;
    /** The git repository export-knowledge writes to (central role). */
    repo?: string;
  };
  /** What check-dead-code adds to its default rules (see src/analysis/dead-code-rules.ts). */
  deadCode: DeadCodeSettings;
  notify: {
    /** Where alerts (a task failing or overdue, and its recovery) are POSTed; empty: no alerts are sent. */
    webhooks: Webhook[];
  };
}

export type CentralLinkMode = 'auto' | 'fdw' | 'connection';
const LINK_MODES: readonly CentralLinkMode[] = ['auto', 'fdw', 'connection'];
/** A name the central database can tell instances apart by, and that is safe in a log line. */
const INSTANCE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export interface DeadCodeSettings {
  /** Files (gitignore patterns) whose definitions are never candidates. */
  ignoreFiles?: string[];
  /** Names (regular expressions) never candidates. */
  ignoreNames?: string[];
  /** Files whose mentions of a name are no use of it. */
  proseFiles?: string[];
  /** Per language (ingest's ids): lists are added to the defaults; kinds and the single patterns replace them. */
  languages?: Record<string, {
    kinds?: string[]; usedFiles?: string[]; publicFiles?: string[]; callbackNames?: string[]; registeredHeads?: string[];
    localNameHeads?: string[]; exportedHead?: string; exportedName?: string; privateMemberHead?: string;
    defaultExportHead?: string; baseHead?: string; objectMemberHead?: string;
  }>;
}

export interface BackupDatabase {
  /** The name backups are recorded and grouped under (unique in this list). */
  name: string;
  /** Its connection string (the password is registered as a secret and never printed). */
  url: string;
}

/** The knowledge base shipped with singularity. */
export const SHIPPED_TEMPLATES_DIR = fileURLToPath(new URL('../../templates_data', import.meta.url));
export const DEFAULT_EMBEDDING_MODEL = 'Xenova/all-MiniLM-L6-v2';

export interface ConfigFlags {
  config?: string;
  home?: string;
  role?: string;
}

type Env = Record<string, string | undefined>;

const NUMERIC_ENV: Array<[string, (c: Config, n: number) => void]> = [
  ['SINGULARITY_EMBEDDED_IDLE_MS', (c, n) => (c.embedded.idleTimeoutMs = n)],
  ['SINGULARITY_EMBEDDED_START_TIMEOUT_MS', (c, n) => (c.embedded.startTimeoutMs = n)],
  ['SINGULARITY_HEARTBEAT_MS', (c, n) => (c.runs.heartbeatMs = n)],
  ['SINGULARITY_STALE_AFTER_MS', (c, n) => (c.runs.staleAfterMs = n)],
  ['SINGULARITY_STOP_GRACE_MS', (c, n) => (c.runs.stopGraceMs = n)],
  ['SINGULARITY_SHUTDOWN_GRACE_MS', (c, n) => (c.scheduler.shutdownGraceMs = n)],
  ['SINGULARITY_SCHEDULER_POLL_MS', (c, n) => (c.scheduler.pollMs = n)],
  ['SINGULARITY_CHILD_MAX_MEMORY_MB', (c, n) => (c.scheduler.childMaxMemoryMb = n)],
  ['SINGULARITY_EMBEDDING_BATCH', (c, n) => (c.embedding.batchSize = n)],
];

export function defaultConfig(cwd: string): Config {
  const home = resolve(cwd, '.singularity');
  return {
    role: 'instance',
    home,
    embedded: { idleTimeoutMs: 30_000, startTimeoutMs: 60_000 },
    runs: { heartbeatMs: 5_000, staleAfterMs: 60_000, stopGraceMs: 5_000 },
    scheduler: { shutdownGraceMs: 30_000, pollMs: 5_000 },
    taskModules: [],
    knowledge: { templatesDir: SHIPPED_TEMPLATES_DIR },
    embedding: { model: DEFAULT_EMBEDDING_MODEL, batchSize: 32 },
    backup: { dir: join(home, 'backups'), databases: [] },
    notify: { webhooks: [] },
    deadCode: {},
    central: { instance: hostname(), link: 'auto' },
  };
}

export async function loadConfig(
  flags: ConfigFlags = {},
  env: Env = process.env,
  cwd: string = process.cwd(),
): Promise<Config> {
  const config = defaultConfig(cwd);
  let backupDirSet = false;

  const explicitPath = flags.config ?? env.SINGULARITY_CONFIG;
  const path = explicitPath ? resolve(cwd, explicitPath) : resolve(cwd, CONFIG_FILE_NAME);
  if (explicitPath && !existsSync(path)) {
    throw new ConfigError(`config file not found: ${path}`, {
      hint: 'Check the path given by --config or SINGULARITY_CONFIG.',
    });
  }
  if (existsSync(path)) {
    const { readConfigFile } = await import('./config-file.js');
    const file = readConfigFile(path, readFileSync(path, 'utf8'));
    config.configPath = path;
    if (file.databaseUrl) config.databaseUrl = file.databaseUrl;
    if (file.home) config.home = resolve(dirname(path), file.home);
    Object.assign(config.embedded, file.embedded);
    Object.assign(config.runs, file.runs);
    const { crontab, ...scheduler } = file.scheduler ?? {};
    Object.assign(config.scheduler, scheduler);
    if (crontab) config.scheduler.crontab = resolve(dirname(path), crontab);
    if (file.taskModules) config.taskModules = file.taskModules.map((m) => resolve(dirname(path), m));
    if (file.knowledge?.templatesDir) config.knowledge.templatesDir = resolve(dirname(path), file.knowledge.templatesDir);
    if (file.embedding?.model) config.embedding.model = file.embedding.model;
    if (file.embedding?.modelDir) config.embedding.modelDir = resolve(dirname(path), file.embedding.modelDir);
    if (file.embedding?.batchSize) config.embedding.batchSize = file.embedding.batchSize;
    backupDirSet ||= Boolean(file.backup?.dir);
    if (file.backup?.dir) config.backup.dir = resolve(dirname(path), file.backup.dir);
    if (file.backup?.databases) config.backup.databases = file.backup.databases;
    if (file.notify?.webhooks) config.notify.webhooks = resolveWebhooks(path, file.notify.webhooks, env);
    if (file.deadCode) config.deadCode = file.deadCode;
    if (file.role) config.role = file.role;
    if (file.central?.url) config.central.url = file.central.url;
    if (file.central?.instance) config.central.instance = file.central.instance;
    if (file.central?.link) config.central.link = file.central.link;
    if (file.central?.repo) config.central.repo = resolve(dirname(path), file.central.repo);
  }

  if (env.DATABASE_URL) config.databaseUrl = env.DATABASE_URL;
  if (env.CENTRAL_DATABASE_URL) config.central.url = env.CENTRAL_DATABASE_URL;
  if (env.SINGULARITY_INSTANCE) config.central.instance = env.SINGULARITY_INSTANCE;
  if (env.SINGULARITY_CENTRAL_LINK) {
    if (!(LINK_MODES as readonly string[]).includes(env.SINGULARITY_CENTRAL_LINK)) {
      throw new ConfigError(`SINGULARITY_CENTRAL_LINK must be ${LINK_MODES.join(', ')}, not '${env.SINGULARITY_CENTRAL_LINK}'`);
    }
    config.central.link = env.SINGULARITY_CENTRAL_LINK as CentralLinkMode;
  }
  if (env.SINGULARITY_HOME) config.home = resolve(cwd, env.SINGULARITY_HOME);
  if (env.SINGULARITY_CRONTAB) config.scheduler.crontab = resolve(cwd, env.SINGULARITY_CRONTAB);
  if (env.SINGULARITY_TEMPLATES_DIR) config.knowledge.templatesDir = resolve(cwd, env.SINGULARITY_TEMPLATES_DIR);
  if (env.SINGULARITY_MODEL) config.embedding.model = env.SINGULARITY_MODEL;
  if (env.SINGULARITY_MODEL_DIR) config.embedding.modelDir = resolve(cwd, env.SINGULARITY_MODEL_DIR);
  backupDirSet ||= Boolean(env.SINGULARITY_BACKUP_DIR);
  if (env.SINGULARITY_BACKUP_DIR) config.backup.dir = resolve(cwd, env.SINGULARITY_BACKUP_DIR);
  if (env.SINGULARITY_TASK_MODULES) {
    config.taskModules = env.SINGULARITY_TASK_MODULES.split(delimiter).filter(Boolean).map((m) => resolve(cwd, m));
  }
  for (const [name, apply] of NUMERIC_ENV) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (!Number.isInteger(n) || n <= 0) {
      throw new ConfigError(`${name} must be a positive whole number of milliseconds, got '${raw}'`);
    }
    apply(config, n);
  }

  if (flags.home) config.home = resolve(cwd, flags.home);
  const role = flags.role ?? env.SINGULARITY_ROLE;
  if (role !== undefined && role !== '') {
    if (!(ROLE_NAMES as readonly string[]).includes(role)) {
      throw new ConfigError(`${flags.role !== undefined ? '--role' : 'SINGULARITY_ROLE'} must be ${ROLE_NAMES.join(' or ')}, not '${role}'`);
    }
    config.role = role as Role;
  }
  // The backup folder follows the home unless it was set on its own.
  if (!backupDirSet) config.backup.dir = join(config.home, 'backups');

  if (config.databaseUrl) validateDatabaseUrl(config.databaseUrl);
  for (const database of config.backup.databases) validateDatabaseUrl(database.url);
  if (config.central.url) validateDatabaseUrl(config.central.url, 'CENTRAL_DATABASE_URL');
  if (config.central.url && !INSTANCE_NAME.test(config.central.instance)) {
    throw new ConfigError(`the instance name '${config.central.instance}' must be 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit`, {
      hint: 'Set SINGULARITY_INSTANCE, or "central": {"instance": "..."} in the config file.',
    });
  }
  return config;
}

/** Check a database URL and register its password as a secret, so that nothing prints it. */
export function validateDatabaseUrl(url: string, name = 'DATABASE_URL'): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Never echo the value: it may hold a password.
    throw new ConfigError(`${name} is not a valid URL`, {
      hint: 'Use the form postgres://USER@HOST:5432/DBNAME, with the password after the user name and a colon.',
    });
  }
  if (parsed.password) {
    registerSecret(parsed.password);
    try {
      registerSecret(decodeURIComponent(parsed.password));
    } catch {
      // a stray '%' in the password: the raw form is registered above
    }
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ConfigError(`${name} must start with postgres:// or postgresql://, not ${parsed.protocol}//`);
  }
}
