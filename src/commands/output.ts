// Human output: colour only where the stream is a terminal that wants it (NO_COLOR, FORCE_COLOR honoured),
// tables, durations. Everything printed passes through redact().
import { redact } from '../core/redact.js';

type Stream = NodeJS.WriteStream;

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, gray: 90, bold: 1, dim: 2 } as const;
export type Style = keyof typeof CODES;

function wantsColour(stream: Stream): boolean {
  if ('NO_COLOR' in process.env && process.env.NO_COLOR !== '') return false;
  if (process.env.FORCE_COLOR && process.env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY && stream.hasColors?.());
}

export function paint(stream: Stream, style: Style, text: string): string {
  return wantsColour(stream) ? `\u001b[${CODES[style]}m${text}\u001b[0m` : text;
}

export function write(stream: Stream, text: string): void {
  stream.write(redact(text) + '\n');
}

export const out = (text: string) => write(process.stdout, text);
export const err = (text: string) => write(process.stderr, text);

export function printJson(value: unknown): void {
  process.stdout.write(redact(JSON.stringify(value, null, 2)) + '\n');
}

const ANSI = /\u001b\[[0-9;]*m/g;
const visibleLength = (s: string) => s.replace(ANSI, '').length;

/** Columns padded to their widest cell; the last column is not padded. */
export function table(headers: string[], rows: string[][], stream: Stream = process.stdout): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - visibleLength(c))))
      .join('  ')
      .trimEnd();
  return [paint(stream, 'bold', line(headers)), ...rows.map(line)].join('\n');
}

export function truncate(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? oneLine.slice(0, max - 1) + '…' : oneLine;
}

/** What a task reports doing, behind a bar when it says how much is done. */
export function progressLine(message: string, share?: number): string {
  return share === undefined ? message : `${progressBar(share)} ${message}`;
}

/** A bar of `width` cells with `share` (0 to 1) of them full, and the percentage: `████░░░░░░  40%`. */
export function progressBar(share: number, width = 20): string {
  const clamped = Math.min(1, Math.max(0, share));
  const full = Math.floor(clamped * width);
  return `${'█'.repeat(full)}${'░'.repeat(width - full)} ${String(Math.floor(clamped * 100)).padStart(3)}%`;
}

/**
 * A spinner on stderr, or none where one cannot work: not a terminal (a pipe, a log), or a terminal
 * that reports no width (a pseudo-terminal opened without a size), where the spinner would count the
 * lines to clear as infinite and never stop clearing them.
 */
export async function terminalSpinner(text?: string): Promise<import('ora').Ora | undefined> {
  const stream = process.stderr;
  if (!stream.isTTY || !(stream.columns > 0)) return undefined;
  return (await import('ora')).default({ stream, ...(text !== undefined && { text: fitLine(text) }) });
}

/** One line of the terminal: a longer text is cut, so that a spinner always redraws a single line. */
export function fitLine(text: string, columns = process.stderr.columns): string {
  const room = Math.max(10, (columns > 0 ? columns : 80) - 3); // the spinner's glyph and a space
  const line = text.split('\n', 1)[0]!;
  return [...line].length > room ? `${[...line].slice(0, room - 1).join('')}…` : line;
}
