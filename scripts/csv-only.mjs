#!/usr/bin/env node
// The floor replay is measured against: csv-parse alone over a trace v1 file, with the reader's
// options, as a whole process (start-up included). Prints the record count.
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';

let n = 0;
const p = createReadStream(process.argv[2]).pipe(
  parse({ bom: true, comment: '#', comment_no_infix: true, skip_empty_lines: true, trim: true }),
);
for await (const _ of p) n++;
console.log(n);
