/**
 * Extraction of the ftrace text inside Android systrace HTML files. Two layouts exist:
 * `<script class="trace-data" type="application/text">` blocks (systrace from ~2015 on; the first
 * block holding ftrace text is used, JSON blocks are skipped) and the older
 * `var linuxPerfData = "\` JavaScript string whose lines end in `\n\`.
 */
import { InputError } from '../trace/errors.js';

/** ftrace text lines with their line numbers in the HTML file. */
export interface ExtractedLines {
  lines: string[];
  /** Line number (1-based, in the HTML) of `lines[0]`. */
  firstLine: number;
  layout: 'trace-data' | 'linuxPerfData';
}

/** @throws InputError when the file holds no ftrace text in a known layout. */
export function extractSystrace(html: string, file: string): ExtractedLines {
  const all = html.split(/\r?\n/);
  for (let i = 0; i < all.length; i++) {
    if (/<script class="trace-data" type="application\/text">/.test(all[i]!)) {
      const start = i + 1;
      let end = start;
      while (end < all.length && !/<\/script>/.test(all[end]!)) end++;
      const block = all.slice(start, end);
      const firstText = block.find((l) => l.trim() !== '');
      if (firstText === undefined || firstText.trim().startsWith('{')) {
        i = end;
        continue;
      }
      if (/^[A-Za-z0-9+/=]{200,}$/.test(firstText.trim())) {
        throw new InputError(
          'the trace-data block is compressed (zlib/base64); re-export the trace uncompressed (systrace --no-compress)',
          file,
          start + 1,
          1,
        );
      }
      return { lines: block, firstLine: start + 1, layout: 'trace-data' };
    }
    if (/var\s+linuxPerfData\s*=\s*"\\$/.test(all[i]!)) {
      const lines: string[] = [];
      let j = i + 1;
      for (; j < all.length; j++) {
        const l = all[j];
        const done = !l!.endsWith('\\');
        const body = done ? l!.replace(/";?\s*$/, '') : l!.slice(0, -1);
        lines.push(body.replace(/\\n$/, '').replace(/\\(["\\'])/g, '$1'));
        if (done) break;
      }
      return { lines, firstLine: i + 2, layout: 'linuxPerfData' };
    }
  }
  throw new InputError(
    'no ftrace text found: expected a <script class="trace-data" type="application/text"> block or a "var linuxPerfData" string',
    file,
  );
}
