// The config file's schema. Loaded only when a config file exists, so commands without one never load zod.
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { jsonPointer } from './json-pointer.js';

const positiveMs = z.number().int().positive();

const isHttpUrl = (value: string) => {
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
};
// The value is never echoed in a message: a webhook URL may carry its token.
const webhook = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'a name of letters, digits, dots, dashes and underscores').optional(),
    url: z.string().refine(isHttpUrl, 'must be an http:// or https:// URL'),
    headers: z
      .record(
        z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'not a valid HTTP header name'),
        z.union([
          z.string().refine((v) => !/[\r\n]/.test(v), 'a header value cannot hold a line break'),
          z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'the name of an environment variable') }).strict(),
        ], { error: 'a string, or {"env": "VARIABLE"} to read the value from the environment' }),
      )
      .optional(),
  })
  .strict();

const patterns = z.array(z.string().min(1)).optional();
// Additions to check-dead-code's default rules (src/analysis/dead-code-rules.ts, docs/code-analysis.md).
const deadCodeLanguage = z
  .object({
    kinds: patterns, usedFiles: patterns, publicFiles: patterns, callbackNames: patterns, registeredHeads: patterns, localNameHeads: patterns,
    exportedHead: z.string().optional(), exportedName: z.string().optional(), privateMemberHead: z.string().optional(),
    defaultExportHead: z.string().optional(), baseHead: z.string().optional(), objectMemberHead: z.string().optional(),
  })
  .strict();

const ConfigFileSchema = z
  .object({
    $schema: z.string().optional(),
    role: z.enum(['instance', 'central']).optional(),
    // Prefer CENTRAL_DATABASE_URL with ~/.pgpass: a password in the file is registered as a secret all the same.
    central: z.object({
      url: z.string().min(1).optional(),
      instance: z.string().min(1).optional(),
      link: z.enum(['auto', 'fdw', 'connection']).optional(),
      repo: z.string().min(1).optional(),
    }).strict().optional(),
    databaseUrl: z.string().min(1).optional(),
    home: z.string().min(1).optional(),
    embedded: z
      .object({ idleTimeoutMs: positiveMs.optional(), startTimeoutMs: positiveMs.optional() })
      .strict()
      .optional(),
    runs: z
      .object({
        heartbeatMs: positiveMs.optional(),
        staleAfterMs: positiveMs.optional(),
        stopGraceMs: positiveMs.optional(),
      })
      .strict()
      .optional(),
    scheduler: z
      .object({
        crontab: z.string().min(1).optional(),
        shutdownGraceMs: positiveMs.optional(),
        pollMs: positiveMs.optional(),
        childMaxMemoryMb: z.number().int().min(16).optional(),
      })
      .strict()
      .optional(),
    taskModules: z.array(z.string().min(1)).optional(),
    knowledge: z.object({ templatesDir: z.string().min(1).optional() }).strict().optional(),
    embedding: z
      .object({
        model: z.string().min(1).optional(),
        modelDir: z.string().min(1).optional(),
        batchSize: z.number().int().min(1).max(1024).optional(),
      })
      .strict()
      .optional(),
    backup: z
      .object({
        dir: z.string().min(1).optional(),
        databases: z
          .array(z.object({ name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/), url: z.string().min(1) }).strict())
          .refine((list) => new Set(list.map((d) => d.name)).size === list.length, 'database names must be unique')
          .optional(),
      })
      .strict()
      .optional(),
    notify: z.object({ webhooks: z.array(webhook).optional() }).strict().optional(),
    deadCode: z
      .object({ ignoreFiles: patterns, ignoreNames: patterns, proseFiles: patterns, languages: z.record(z.string().min(1), deadCodeLanguage).optional() })
      .strict()
      .optional(),
  })
  .strict();

export type ConfigFile = z.infer<typeof ConfigFileSchema>;

export function readConfigFile(path: string, text: string): ConfigFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const { line, column, reason } = jsonSyntaxError(text, (error as Error).message);
    throw new ConfigError(`${path}:${line}:${column}: not valid JSON: ${reason}`, {
      hint: 'Fix the syntax there; the file must be one JSON object.',
    });
  }
  const parsed = ConfigFileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    // An unknown key is reported at the key itself, not at the object holding it.
    const at = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
    // A bad record key (a header name) carries its reason inside.
    const message = issue.code === 'invalid_key' ? issue.issues[0]?.message ?? issue.message : issue.message;
    throw new ConfigError(`${path}: at ${jsonPointer(at)}: ${message}`, {
      hint: 'See docs/configuration.md for the keys the file accepts.',
    });
  }
  return parsed.data;
}

/** Where JSON.parse stopped, as line and column (1-based; the end of the text when it ran out), and why. */
function jsonSyntaxError(text: string, message: string): { line: number; column: number; reason: string } {
  const position = Number(/at position (\d+)/.exec(message)?.[1] ?? text.length);
  const before = text.slice(0, position).split('\n');
  const reason = message.replace(/,? ?(in JSON )?at position \d+.*$/, '').replace(/ \(line \d+ column \d+\)$/, '');
  return { line: before.length, column: before.at(-1)!.length + 1, reason };
}
