#!/usr/bin/env node
// Retrieval quality: does `search` put the file that answers a question in its top 5? On code nobody here
// wrote (corpora.json: npm packages at pinned versions, fetched with npm pack, cut to their source and
// docs), with questions written from reading that code (questions/*.json: each names the one file that
// answers it). Each corpus is ingested (no model unless SINGULARITY_MODEL_DIR names one), then every
// question is searched within its codebase. The baseline, in the same run on the same files: counting
// the question's words as grep would (lines of a file holding each word, case-insensitive, summed over
// the words; words of three letters or more, English stop words left out). Printed per corpus and in
// all: top-1, top-5 and MRR (over the first 10) for both, and for behaviour questions in corpora with
// Markdown, how often code is in the top 3.
//
//   npm run build && npm run bench:retrieval [-- --corpus npm] [--verbose] [--json]
//   With BENCH_DATABASE_URL the corpora go to a database of their own on that server; otherwise to the
//   embedded database in a temporary home.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../dist/core/config.js';
import { openDatabase } from '../../dist/core/db.js';
import { isEmbedder, loadEmbedder } from '../../dist/embed/transformers.js';
import { ingestCodebase } from '../../dist/ingest/ingest.js';
import { search } from '../../dist/search/search.js';
import { benchDatabaseConfig } from '../support.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const only = args.includes('--corpus') ? args[args.indexOf('--corpus') + 1].split(',') : null;
const VERBOSE = args.includes('--verbose');
const JSON_OUT = args.includes('--json');
const DEPTH = 10;
const log = (line) => process.stderr.write(line + '\n');

const { corpora } = JSON.parse(readFileSync(join(here, 'corpora.json'), 'utf8'));
const cache = join(here, '..', '.cache', 'retrieval');

/** The corpus's folder under the cache: the package fetched once (npm pack), then cut to `include`. */
function corpusFolder(corpus) {
  const folder = join(cache, `${corpus.id}-${corpus.version}`);
  // Marked complete beside the folder, not in it, where ingest would take the mark for a file of the corpus.
  const complete = `${folder}.complete`;
  if (existsSync(complete)) return folder;
  mkdirSync(cache, { recursive: true });
  const tarball = join(cache, `${corpus.package.replace('@', '').replace('/', '-')}-${corpus.version}.tgz`);
  if (!existsSync(tarball)) {
    log(`fetching ${corpus.package}@${corpus.version} (npm pack)`);
    execFileSync('npm', ['pack', `${corpus.package}@${corpus.version}`, '--pack-destination', cache, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const unpacked = join(cache, `${corpus.id}-unpacked`);
  rmSync(unpacked, { recursive: true, force: true });
  mkdirSync(unpacked);
  execFileSync('tar', ['xzf', tarball, '-C', unpacked]);
  rmSync(folder, { recursive: true, force: true });
  const root = join(unpacked, 'package', corpus.root);
  for (const part of corpus.include) cpSync(join(root, part), join(folder, part), { recursive: true });
  rmSync(unpacked, { recursive: true, force: true });
  execFileSync('touch', [complete]);
  return folder;
}

const STOP_WORDS = new Set(('the and for with that this from are was were what which when where who how does did has have had ' +
  'not but its into than then them they their there these those can could should would will shall may might must ' +
  'about after before over under between each every all any some such only own same other more most very just also ' +
  'out off why been being our you your his her she him it is of to in on at by as or an be do if so up no').split(' '));

/** The grep word count's words: lower case, three letters or more, no stop words, each once. */
const grepWords = (question) => [...new Set(question.toLowerCase().split(/[^a-z0-9_]+/).filter((w) => w.length >= 3 && !STOP_WORDS.has(w)))];

function filesOf(folder) {
  const files = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.push({ path: relative(folder, path), lines: readFileSync(path, 'latin1').toLowerCase().split('\n') });
    }
  };
  walk(folder);
  return files;
}

/** Files ranked by the summed number of lines holding each of the question's words (grep -ci per word). */
function grepRanking(files, question) {
  const words = grepWords(question);
  return files
    .map((f) => ({ path: f.path, score: words.reduce((n, w) => n + f.lines.filter((line) => line.includes(w)).length, 0) }))
    .filter((f) => f.score > 0)
    .sort((a, b) => b.score - a.score || a.path.localeCompare(b.path))
    .map((f) => f.path);
}

const PROSE = /\.(md|markdown|mdx|rst|txt)$/i;
const rankOf = (paths, target) => {
  const i = paths.slice(0, DEPTH).indexOf(target);
  return i < 0 ? null : i + 1;
};
function summarize(ranks) {
  const n = ranks.length || 1;
  return {
    questions: ranks.length,
    top1: ranks.filter((r) => r === 1).length / n,
    top5: ranks.filter((r) => r !== null && r <= 5).length / n,
    mrr: ranks.reduce((s, r) => s + (r ? 1 / r : 0), 0) / n,
  };
}

const temp = mkdtempSync(join(tmpdir(), 'sg-bench-retrieval-'));
const target = await benchDatabaseConfig('retrieval', temp);
const db = await openDatabase(target.config);
// The real model when SINGULARITY_MODEL_DIR names a folder that holds it (never downloaded); lexical otherwise.
const settings = (await loadConfig({}, process.env)).embedding;
const loaded = settings.modelDir ? await loadEmbedder(settings, { allowDownload: false }) : null;
if (loaded && !isEmbedder(loaded)) throw new Error(`no embedding model: ${loaded.reason}`);
const embedder = loaded;
const results = [];
try {
  for (const corpus of corpora.filter((c) => !only || only.includes(c.id))) {
    const folder = corpusFolder(corpus);
    const { questions } = JSON.parse(readFileSync(join(here, 'questions', `${corpus.id}.json`), 'utf8'));
    for (const q of questions) if (!existsSync(join(folder, q.target))) throw new Error(`${corpus.id}: the target ${q.target} of "${q.question}" is not in the corpus`);
    await ingestCodebase(db, { root: folder, codebase: corpus.id, ...(embedder && { embedder }) });
    const files = filesOf(folder);
    const hasProse = files.some((f) => PROSE.test(f.path));
    for (const q of questions) {
      const found = await search(db, q.question, { limit: DEPTH, codebase: corpus.id, ...(embedder && { embedder }) });
      const paths = [...new Set(found.hits.map((h) => h.path))];
      const grep = grepRanking(files, q.question);
      const row = {
        corpus: corpus.id, kind: q.kind, question: q.question, target: q.target,
        singularity: rankOf(paths, q.target), grep: rankOf(grep, q.target),
        codeInTop3: hasProse && q.kind === 'behaviour' ? paths.slice(0, 3).some((p) => !PROSE.test(p)) : null,
        top: paths.slice(0, 5),
      };
      results.push(row);
      if (VERBOSE) log(`${corpus.id} ${String(row.singularity ?? '-').padStart(2)} ${String(row.grep ?? '-').padStart(2)}  ${q.question}  -> ${q.target}${row.singularity === 1 ? '' : `  [${row.top.slice(0, 3).join(', ')}]`}`);
    }
  }
} finally {
  await db.close();
  await target.drop();
  rmSync(temp, { recursive: true, force: true });
}

const groups = [...new Set(results.map((r) => r.corpus)), 'all'];
const report = Object.fromEntries(groups.map((g) => {
  const rows = g === 'all' ? results : results.filter((r) => r.corpus === g);
  const code = rows.filter((r) => r.codeInTop3 !== null);
  return [g, {
    singularity: summarize(rows.map((r) => r.singularity)), grep: summarize(rows.map((r) => r.grep)),
    codeInTop3: code.length ? code.filter((r) => r.codeInTop3).length / code.length : null,
  }];
}));
if (JSON_OUT) console.log(JSON.stringify({ mode: embedder ? 'hybrid' : 'lexical', report, results }, null, 2));
else {
  const pct = (x) => `${(x * 100).toFixed(0)}%`.padStart(5);
  console.log(`retrieval: ${results.length} questions, ${embedder ? `hybrid (${embedder.model})` : 'lexical and graph (no model)'}; top-1 / top-5 / MRR@${DEPTH}`);
  console.log(`${'corpus'.padEnd(12)} ${'n'.padStart(3)}   ${'singularity'.padEnd(22)} ${'grep word count'.padEnd(22)} code in top 3`);
  for (const [g, r] of Object.entries(report)) {
    const s = r.singularity;
    const b = r.grep;
    console.log(`${g.padEnd(12)} ${String(s.questions).padStart(3)}   ${pct(s.top1)} ${pct(s.top5)}  ${s.mrr.toFixed(2)}        ${pct(b.top1)} ${pct(b.top5)}  ${b.mrr.toFixed(2)}        ${r.codeInTop3 === null ? '' : pct(r.codeInTop3)}`);
  }
  const all = report.all;
  console.log(`top-5: singularity ${pct(all.singularity.top5).trim()}, grep ${pct(all.grep.top5).trim()}: ${((all.singularity.top5 - all.grep.top5) * 100).toFixed(0)} points ahead`);
}
