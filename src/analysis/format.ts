// The analyses' results as documents: plain text for a terminal, Markdown for a file or a pull request,
// JSON for programs. One description of each document serves the first two.
import type { DeadCodeCheck } from './dead-code.js';
import type { DeadCodeReport } from './dead-code-report.js';
import type { RegistrySnapshot } from './registry.js';

export const REPORT_FORMATS = ['text', 'markdown', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** How many rows a list shows in text and Markdown (JSON has them all). */
const SHOWN = 20;

type Block = { heading: string; level: 1 | 2 } | { paragraph: string } | { table: { head: string[]; rows: string[][] } } | { list: string[] };

function render(blocks: Block[], format: 'text' | 'markdown'): string {
  const out: string[] = [];
  for (const block of blocks) {
    if ('heading' in block) {
      out.push(format === 'markdown' ? `${'#'.repeat(block.level)} ${block.heading}` : block.level === 1 ? block.heading.toUpperCase() : block.heading);
    } else if ('paragraph' in block) {
      out.push(block.paragraph);
    } else if ('list' in block) {
      out.push(...block.list.map((item) => `- ${item}`));
    } else if (format === 'markdown') {
      const cell = (s: string) => s.replace(/\|/g, '\\|');
      out.push(`| ${block.table.head.map(cell).join(' | ')} |`, `|${block.table.head.map(() => ' --- |').join('')}`,
        ...block.table.rows.map((r) => `| ${r.map(cell).join(' | ')} |`));
    } else {
      const rows = [block.table.head, ...block.table.rows];
      const widths = block.table.head.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
      out.push(...rows.map((r) => `  ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}`.trimEnd()));
    }
    out.push('');
  }
  return out.join('\n').trimEnd() + '\n';
}

const n = (value: number) => value.toLocaleString('en-US');
const count = (value: number, word: string) => `${n(value)} ${value === 1 ? word : `${word}s`}`;
const more = (total: number) => (total > SHOWN ? [{ paragraph: `... and ${n(total - SHOWN)} more (see --format json).` }] : []);
const at = (path: string, line: number, format: 'text' | 'markdown') => (format === 'markdown' ? `\`${path}:${line}\`` : `${path}:${line}`);
const code = (text: string, format: 'text' | 'markdown') => (format === 'markdown' ? `\`${text}\`` : text);

export function renderRegistry(snapshots: RegistrySnapshot[], format: ReportFormat): string {
  if (format === 'json') return JSON.stringify(snapshots, null, 2) + '\n';
  const blocks: Block[] = [];
  for (const { id, codebase, takenAt, summary: s, diff: d } of snapshots) {
    blocks.push({ heading: `Architecture of ${codebase} (snapshot ${id}, ${takenAt})`, level: 1 });
    blocks.push({ paragraph: `${count(s.totals.files, 'file')}, ${count(s.totals.lines, 'line')}, ${count(s.totals.symbols, 'symbol')}, ${count(s.totals.imports, 'import')} and ${count(s.totals.calls, 'call')} between them; ${count(s.modules.count, 'module')} (folders).` });
    blocks.push({ table: { head: ['language', 'files', 'lines', 'symbols'], rows: s.languages.map((l) => [l.language, n(l.files), n(l.lines), n(l.symbols)]) } });
    if (s.modules.byFanIn.length) {
      blocks.push({ heading: 'Modules most depended on (fan-in) and depending most (fan-out)', level: 2 });
      blocks.push({ table: { head: ['module', 'files', 'fan-in', 'fan-out'], rows: dedupe([...s.modules.byFanIn, ...s.modules.byFanOut]).map((m) => [code(m.module, format), n(m.files), n(m.fanIn), n(m.fanOut)]) } });
    }
    blocks.push({ heading: `Import cycles: ${s.cycles.count}`, level: 2 });
    if (s.cycles.count) blocks.push({ list: s.cycles.list.slice(0, SHOWN).map((c) => `${c.length} files: ${c.map((p) => code(p, format)).join(', ')}`) }, ...more(s.cycles.count));
    else blocks.push({ paragraph: 'None: no file imports itself through others.' });
    blocks.push({ heading: 'Highest ranked (PageRank)', level: 2 });
    if (s.ranked.at === null) blocks.push({ paragraph: 'Not ranked yet: run singularity rank-graph.' });
    else {
      blocks.push({ table: { head: ['file', 'pagerank'], rows: s.ranked.files.map((f) => [code(f.path, format), f.pagerank.toFixed(5)]) } });
      blocks.push({ table: { head: ['symbol', 'file', 'pagerank'], rows: s.ranked.symbols.map((f) => [code(f.symbol, format), f.path, f.pagerank.toFixed(5)]) } });
    }
    const outliers = [
      ...s.outliers.files.map((f) => `${code(f.path, format)}: ${n(f.lines)} lines`),
      ...s.outliers.definitions.map((f) => `${code(f.symbol, format)} in ${f.path}: ${n(f.lines)} lines`),
      ...s.outliers.calls.map((f) => `${code(f.path, format)}: ${n(f.calls)} calls out`),
    ];
    blocks.push({ heading: 'Outliers (beyond the third quartile plus three interquartile ranges)', level: 2 });
    blocks.push(outliers.length ? { list: outliers } : { paragraph: 'None.' });
    blocks.push({ heading: 'Since the last snapshot', level: 2 });
    if (!d.previous) blocks.push({ paragraph: 'This is the first snapshot of the codebase: nothing to compare with.' });
    else {
      blocks.push({ paragraph: `Compared with snapshot ${d.previous.id} (${d.previous.takenAt}): ${count(d.files.added.length, 'file')} added, ${n(d.files.removed.length)} removed, ${n(d.files.changed)} changed (${n(d.files.grown.length)} grown, ${n(d.files.shrunk)} shrunk); ${count(d.symbols.added.length, 'symbol')} added, ${n(d.symbols.removed.length)} removed; ${count(d.cycles.added.length, 'cycle')} new, ${n(d.cycles.removed.length)} gone.` });
      const changes = [
        ...d.files.added.map((p) => `added ${code(p, format)}`),
        ...d.files.removed.map((p) => `removed ${code(p, format)}`),
        ...d.files.grown.map((g) => `grown ${code(g.path, format)}: ${n(g.before)} → ${n(g.after)} lines`),
        ...d.symbols.added.map((x) => `new symbol ${code(x.symbol, format)} in ${x.path}`),
        ...d.symbols.removed.map((x) => `symbol gone ${code(x.symbol, format)} from ${x.path}`),
        ...d.cycles.added.map((c) => `new cycle: ${c.map((p) => code(p, format)).join(', ')}`),
        ...d.cycles.removed.map((c) => `cycle gone: ${c.map((p) => code(p, format)).join(', ')}`),
      ];
      if (changes.length) blocks.push({ list: changes.slice(0, SHOWN) }, ...more(changes.length));
    }
  }
  return render(blocks, format);
}

const dedupe = <T extends { module: string }>(items: T[]) => [...new Map(items.map((i) => [i.module, i])).values()];

export function renderDeadCodeCheck(checks: DeadCodeCheck[], format: ReportFormat): string {
  if (format === 'json') return JSON.stringify(checks, null, 2) + '\n';
  const blocks: Block[] = [];
  for (const check of checks) {
    blocks.push({ heading: `Dead-code candidates in ${check.codebase}: ${n(check.candidates.length)}`, level: 1 });
    blocks.push({ paragraph: check.first
      ? `First check (${check.checkedAt}): nothing is marked new.`
      : `Checked at ${check.checkedAt}: ${n(check.newCandidates)} new since the last check (marked *), ${n(check.resolved.length)} resolved.` });
    if (check.candidates.length) {
      const sorted = [...check.candidates].sort((a, b) => Number(b.isNew) - Number(a.isNew) || (a.path < b.path ? -1 : a.path > b.path ? 1 : a.line - b.line));
      blocks.push({ table: { head: ['', 'where', 'kind', 'symbol', 'why'], rows: sorted.slice(0, format === 'markdown' ? sorted.length : SHOWN * 5)
        .map((c) => [c.isNew ? '*' : '', at(c.path, c.line, format), c.kind, code(c.symbol, format), c.reason]) } });
      if (format === 'text' && sorted.length > SHOWN * 5) blocks.push({ paragraph: `... and ${n(sorted.length - SHOWN * 5)} more (see --format json or markdown).` });
    }
    if (check.resolved.length) blocks.push({ heading: 'Resolved since the last check', level: 2 }, { list: check.resolved.slice(0, SHOWN).map((r) => `${code(r.symbol, format)} (${r.path}:${r.line})`) }, ...more(check.resolved.length));
  }
  return render(blocks, format);
}

export function renderDeadCodeReport(reports: DeadCodeReport[], format: ReportFormat): string {
  if (format === 'json') return JSON.stringify(reports, null, 2) + '\n';
  const blocks: Block[] = [];
  for (const r of reports) {
    blocks.push({ heading: `Dead code in ${r.codebase}, ${r.since.slice(0, 10)} to ${r.until.slice(0, 10)}`, level: 1 });
    if (r.note) blocks.push({ paragraph: r.note });
    if (!r.series.length && !r.total) continue;
    blocks.push({ paragraph: `${count(r.total, 'candidate')} now; ${n(r.added.length)} new within the window, ${n(r.resolved.length)} resolved.` });
    if (r.series.length) blocks.push({ heading: 'Candidates per day', level: 2 }, { table: { head: ['day', 'candidates'], rows: r.series.map((s) => [s.day, n(s.candidates)]) } });
    if (r.added.length) blocks.push({ heading: 'New', level: 2 }, { list: r.added.slice(0, SHOWN).map((c) => `${code(c.symbol, format)} (${c.kind}, ${at(c.path, c.line, format)}): ${c.reason}`) }, ...more(r.added.length));
    if (r.resolved.length) blocks.push({ heading: 'Resolved', level: 2 }, { list: r.resolved.slice(0, SHOWN).map((c) => `${code(c.symbol, format)} (${c.kind}, ${at(c.path, c.line, format)})`) }, ...more(r.resolved.length));
    if (r.biggest.length) blocks.push({ heading: 'Biggest candidates', level: 2 }, { table: { head: ['lines', 'where', 'kind', 'symbol'], rows: r.biggest.map((c) => [n(c.lines), at(c.path, c.line, format), c.kind, code(c.symbol, format)]) } });
  }
  return render(blocks, format);
}
