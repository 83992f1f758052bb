#!/usr/bin/env node
// The anchors replay is measured against (scripts/bench.mjs), each a whole process over the same
// trace v1 file, start-up included; prints the record (or line) count.
//   node scripts/csv-only.mjs <file>          csv-parse alone, streaming, its fastest options that
//                                             read a trace: { comment: '#' } (the reader's options,
//                                             trim and empty-line skipping in particular, cost about
//                                             13% more) and the default 64 KiB chunks (1 MiB chunks
//                                             are slower)
//   node scripts/csv-only.mjs <file> reader   csv-parse with the reader's options (src/trace/reader.ts CSV_OPTIONS)
//   node scripts/csv-only.mjs <file> split    a plain line split: the file streamed as UTF-8 text and
//                                             cut at '\n' with String.prototype.split (no CSV at all)
import { createReadStream } from 'node:fs';

const [file, mode = 'csv'] = process.argv.slice(2);
let n = 0;
if (mode === 'split') {
  let rest = '';
  for await (const chunk of createReadStream(file, { encoding: 'utf8' })) {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop();
    n += lines.length;
  }
  if (rest !== '') n++;
} else {
  const { parse } = await import('csv-parse');
  const options =
    mode === 'reader' ? { bom: true, comment: '#', comment_no_infix: true, skip_empty_lines: true, trim: true } : { comment: '#' };
  for await (const _ of createReadStream(file).pipe(parse(options))) n++;
}
console.log(n);
