/**
 * Errors of the trace layer. {@link InputError} (everything the user can fix: exit 2 at
 * `file:line:column`) lives in util/errors.ts, below every layer that throws it.
 */
export { InputError } from '../util/errors.js';
import { InputError } from '../util/errors.js';

/**
 * The header of a trace v1 file cannot be read (no header row, an unknown column, malformed CSV
 * before it): the file may be something else altogether, such as a recording not yet imported,
 * which the layers above recognise (src/import/auto.ts) to say what to run instead.
 */
export class TraceHeaderError extends InputError {}

/**
 * `text` for a message: in double quotes, cut to `max` characters (`...` after the quotes when
 * cut), with control characters, invalid UTF-8 (U+FFFD) and other unprintable characters escaped,
 * so that binary data never reaches the terminal.
 */
export function quoteExcerpt(text: string, max = 40): string {
  const chars = [...text];
  const cut = chars.length > max;
  return `"${escapeText((cut ? chars.slice(0, max) : chars).join(''))}"${cut ? '...' : ''}`;
}

/**
 * `text` with every unprintable character escaped (newline as `\n`, byte 0x17 as `\x17`, invalid
 * UTF-8 as `\ufffd`), and with `quotes`, double quotes and backslashes too.
 */
export function escapeText(text: string, quotes = true): string {
  return text.replace(/["\\]|[\p{C}\p{Zl}\p{Zp}\ufffd]/gu, (c) => {
    if (c === '"' || c === '\\') return quotes ? `\\${c}` : c;
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    if (named[c]) return named[c];
    const code = c.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

export { EventError } from '../model/errors.js';
