// Reading a knowledge folder: every file becomes an artifact ready to store, or a problem that names the
// file, the JSON pointer of the offending value and the reason. One bad file never stops the others.
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
// Synchronous reads: thousands of small files read one after another are several times faster so than
// through the thread pool, and a task has nothing else to do meanwhile.
import { lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { extname, sep } from 'node:path';
import type { z } from 'zod';
import { UsageError } from '../core/errors.js';
import { jsonPointer } from '../core/json-pointer.js';
import { firstInvalidUtf8 } from '../core/utf8.js';
import { ARTIFACT_TYPES, jsonSchemaOf, SCHEMA_FOLDER, templateVariables, TEXT_TEMPLATE_FOLDER, TEXT_TEMPLATE_TYPE, type ArtifactFolder } from './types.js';

/** Larger files are refused: an artifact is a page of knowledge, not a data dump. */
export const MAX_ARTIFACT_BYTES = 1024 * 1024;
const DEFAULT_TEXT_VERSION = '1.0.0';

export interface ScannedArtifact {
  type: string;
  id: string;
  version: string;
  /** Relative to the folder, '/'-separated. */
  path: string;
  raw: string;
  /** The parsed JSON as written (null for text templates). */
  content: unknown;
  metadata: Record<string, unknown>;
  /** sha256 (hex) of raw. */
  contentHash: string;
  /** The file's size, mtime and the schemas' fingerprint (see fileStamp). */
  stamp: string;
}

/** What the scan needs to know of a stored file row to pass over its file unread. */
export interface KnownFile {
  type: string;
  id: string;
  version: string;
  stamp: string | null;
}

export interface ArtifactProblem {
  path: string;
  /** JSON pointer of the offending value; '/' for the whole file. */
  pointer: string;
  reason: string;
}

export interface ScanResult {
  dir: string;
  artifacts: ScannedArtifact[];
  /** Files whose stamp matched their stored row: unchanged, and not read. */
  unread: KnownFile[];
  problems: ArtifactProblem[];
  /** Files found, valid or not. */
  files: number;
}

export interface ScanOptions {
  /** 'json': the JSON artifacts only (migrate-knowledge); 'all': text templates too (load-templates, sync-templates). */
  include: 'json' | 'all';
  maxBytes?: number;
  /** Stored file rows by path: a file whose stamp equals its row's is not read again. */
  known?: ReadonlyMap<string, KnownFile>;
}

const TEMPLATE_LANGUAGES: Record<string, string> = {
  '.hbs': 'handlebars', '.handlebars': 'handlebars', '.mustache': 'mustache', '.lua': 'lua', '.md': 'markdown',
  '.j2': 'jinja2', '.jinja': 'jinja2', '.tmpl': 'go-template', '.eex': 'eex', '.heex': 'heex', '.ejs': 'ejs',
  '.liquid': 'liquid', '.txt': 'text', '.sql': 'sql', '.sh': 'shell', '.yaml': 'yaml', '.yml': 'yaml',
};

/** The knowledge folder's real path; a usage error (exit 2) when it is not an existing folder. */
export function knowledgeRoot(dir: string): string {
  const root = tryRealpath(dir);
  if (!root || !statSync(root).isDirectory()) {
    throw new UsageError(`knowledge folder not found: ${dir}`, {
      hint: 'Give an existing folder with --path, or set knowledge.templatesDir (SINGULARITY_TEMPLATES_DIR).',
    });
  }
  return root;
}

/** Read every artifact of a folder. A missing folder is a usage error (exit 2); a bad file is a problem. */
export async function scanKnowledgeFolder(dir: string, options: ScanOptions): Promise<ScanResult> {
  const root = knowledgeRoot(dir);
  const result: ScanResult = { dir: root, artifacts: [], unread: [], problems: [], files: 0 };
  const seen = new Map<string, string>();
  for (const file of listFiles(root, result.problems)) {
    const path = file.relative;
    const folder = path.split('/')[0]!;
    if (!path.includes('/') || folder === SCHEMA_FOLDER || /^readme\.md$/i.test(path.split('/').pop()!)) continue;
    const isTemplate = folder === TEXT_TEMPLATE_FOLDER;
    if (isTemplate && options.include === 'json') continue;
    result.files++;
    const problem = (reason: string, pointer = '/') => result.problems.push({ path, pointer, reason });
    if (file.outside) {
      problem(`a symlink leading outside ${root} (to ${file.outside}); only files inside the folder are loaded`);
      continue;
    }
    if (!isTemplate && !(folder in ARTIFACT_TYPES)) {
      problem(`'${folder}/' is not an artifact folder; the top-level folder gives the type: ${[...Object.keys(ARTIFACT_TYPES), TEXT_TEMPLATE_FOLDER].join(', ')}`);
      continue;
    }
    if (!isTemplate && extname(path) !== '.json') {
      problem(`only .json files are artifacts in ${folder}/ (text templates go under ${TEXT_TEMPLATE_FOLDER}/)`);
      continue;
    }
    let text: string;
    let stamp: string;
    try {
      stamp = fileStamp(file.path);
      const known = options.known?.get(path);
      if (known?.stamp === stamp && !seen.has(identityKey(known))) {
        seen.set(identityKey(known), path);
        result.unread.push(known);
        continue;
      }
      text = readText(file.path, options.maxBytes ?? MAX_ARTIFACT_BYTES);
    } catch (error) {
      problem((error as Error).message);
      continue;
    }
    const artifact = isTemplate ? textTemplate(path, text, stamp) : jsonArtifact(path, folder as ArtifactFolder, text, stamp, problem);
    if (!artifact) continue;
    const identity = identityKey(artifact);
    const first = seen.get(identity);
    if (first) {
      problem(`duplicate id: ${artifact.type} '${artifact.id}' version ${artifact.version} is already defined by ${first}`, isTemplate ? '/' : '/id');
      continue;
    }
    seen.set(identity, path);
    result.artifacts.push(artifact);
  }
  return result;
}

interface FoundFile {
  path: string;
  /** Relative to the root, '/'-separated. */
  relative: string;
  /** Where a symlink leads when that is outside the folder. */
  outside?: string;
}

/** Every regular file under root, sorted; symlinks to files inside root are followed, directory symlinks are not. */
function listFiles(root: string, problems: ArtifactProblem[]): FoundFile[] {
  const found: FoundFile[] = [];
  const walk = (dir: string, prefix: string): void => {
    const entries = readdirSync(dir, { withFileTypes: true });
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (entry.name.startsWith('.')) continue;
      const path = `${dir}${sep}${entry.name}`;
      const relative = prefix + entry.name;
      if (entry.isDirectory()) walk(path, `${relative}/`);
      else if (entry.isFile()) found.push({ path, relative });
      else if (entry.isSymbolicLink()) {
        const target = tryRealpath(path);
        if (!target) problems.push({ path: relative, pointer: '/', reason: 'a broken symlink' });
        else if (target !== root && !target.startsWith(root + sep)) found.push({ path, relative, outside: target });
        else if (lstatSync(target).isFile()) found.push({ path, relative });
        // a symlink to a folder inside root: its files are found through the folder itself
      }
    }
  };
  walk(root, '');
  return found;
}

function tryRealpath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

function readText(path: string, maxBytes: number): string {
  const size = statSync(path).size;
  if (size > maxBytes) throw new Error(`${size} bytes, over the limit of ${maxBytes}: split it, or move data out of the knowledge base`);
  const bytes = readFileSync(path);
  if (bytes.length === 0) throw new Error('the file is empty');
  if (!isUtf8(bytes)) throw new Error(`not UTF-8 (first bad byte near offset ${firstInvalidUtf8(bytes)}): save it as UTF-8`);
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  if (!text.trim()) throw new Error('the file holds only white space');
  return text;
}

function jsonArtifact(path: string, folder: ArtifactFolder, raw: string, stamp: string, problem: (reason: string, pointer?: string) => void): ScannedArtifact | undefined {
  let content: unknown;
  try {
    content = JSON.parse(raw);
  } catch (error) {
    problem(`not JSON: ${withLineAndColumn((error as Error).message, raw)}`);
    return undefined;
  }
  const { type, schema } = ARTIFACT_TYPES[folder];
  const parsed = (schema as z.ZodType).safeParse(content, {
    error: (issue) => (issue.input === undefined ? `required${issue.code === 'invalid_type' ? ` (${issue.expected})` : ''}, but missing` : undefined),
  });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const at = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
      problem(issue.code === 'unrecognized_keys' ? `unknown field for a ${type}` : issue.message, jsonPointer(at));
    }
    return undefined;
  }
  const { id, version } = parsed.data as { id: string; version: string };
  return { type, id, version, path, raw, content, metadata: {}, contentHash: sha256(raw), stamp };
}

/** JSON.parse says 'at position 812'; people need line 31 column 4. */
function withLineAndColumn(message: string, raw: string): string {
  const position = /at position (\d+)/.exec(message);
  if (!position) return message;
  const before = raw.slice(0, Number(position[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return `${message.replace(/ in JSON at position \d+.*$/, '')} at line ${line}, column ${column}`;
}

/** A text template: its id is its path below templates/ without the extension; its version and metadata come from the file. */
function textTemplate(path: string, raw: string, stamp: string): ScannedArtifact {
  const inner = path.slice(TEXT_TEMPLATE_FOLDER.length + 1);
  const extension = extname(inner).toLowerCase();
  const variables = templateVariables(raw);
  return {
    type: TEXT_TEMPLATE_TYPE,
    id: inner.slice(0, inner.length - extension.length),
    version: /\bversion:\s*(\d+(?:\.\d+){0,2})\b/.exec(raw.slice(0, 400))?.[1] ?? DEFAULT_TEXT_VERSION,
    path,
    raw,
    content: null,
    metadata: { extension, language: TEMPLATE_LANGUAGES[extension] ?? (extension.slice(1) || 'text'), lines: raw.split('\n').length, variables },
    contentHash: sha256(raw),
    stamp,
  };
}

const identityKey = (a: { type: string; id: string; version: string }) => `${a.type}\0${a.id}\0${a.version}`;

let schemasFingerprint: string | undefined;

/** size:mtime of a file, and a fingerprint of the artifact schemas, which a new version may have changed. */
function fileStamp(path: string): string {
  schemasFingerprint ??= sha256(JSON.stringify((Object.keys(ARTIFACT_TYPES) as ArtifactFolder[]).map(jsonSchemaOf))).slice(0, 12);
  const { size, mtimeMs } = statSync(path);
  return `${size}:${mtimeMs}:${schemasFingerprint}`;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
