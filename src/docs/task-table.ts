// The README's task table, rendered from the task manifest (`npm run docs` writes it; a test checks it).
import type { TaskManifestEntry } from '../core/task/manifest.js';

export const README_URL = new URL('../../README.md', import.meta.url);
const START = '<!-- tasks:start (npm run docs) -->';
const END = '<!-- tasks:end -->';

export function renderTaskTable(manifest: TaskManifestEntry[]): string {
  const flags = (t: TaskManifestEntry) =>
    t.options.map((o) => `\`--${o.flag}\`${o.default !== undefined ? ` (${String(o.default)})` : ''}`).join(', ') || '-';
  const rows = manifest.map(
    (t) => `| \`${t.name}\` | ${t.engine} | ${t.schedules.length ? t.schedules.map((s) => `\`${s.cron}\`${s.flags ? ` (\`${s.flags}\`)` : ''}`).join('<br>') : '-'} | ${t.setupOrder ?? '-'} | ${flags(t)} | ${t.summary}${t.roles ? ` (${t.roles.join(' and ')} role only)` : ''} |`,
  );
  return ['| task | engine | default schedule | setup step | flags (default) | what it does |', '|---|---|---|---|---|---|', ...rows].join('\n');
}

export function withTaskTable(readme: string, table: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the markers ${START} ... ${END}`);
  return readme.slice(0, start + START.length) + '\n' + table + '\n' + readme.slice(end);
}
