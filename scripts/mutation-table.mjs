#!/usr/bin/env node
/**
 * The per-file table of docs/testing.md from a Stryker report:
 *   node scripts/mutation-table.mjs [report.json]
 * Default report: reports/mutation/mutation.json. Score = (killed + timeout) / (killed + timeout +
 * survived + no coverage); the last column counts every timeout as a survivor.
 */
import { readFileSync } from 'node:fs';

const report = process.argv[2] ?? 'reports/mutation/mutation.json';
const { files } = JSON.parse(readFileSync(report, 'utf8'));
const pct = (a, b) => (b === 0 ? '-' : ((100 * a) / b).toFixed(1));
const total = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, Ignored: 0, other: 0 };
const rows = [];
for (const [file, { mutants }] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
  const c = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, Ignored: 0, other: 0 };
  for (const m of mutants) c[m.status in c ? m.status : 'other']++;
  for (const k of Object.keys(total)) total[k] += c[k];
  const counted = c.Killed + c.Timeout + c.Survived + c.NoCoverage;
  const name = file.replace(/^.*src\/model\//, '');
  rows.push(
    `| ${name} | ${c.Killed} | ${c.Timeout} | ${c.Survived} | ${c.NoCoverage} | ${c.Ignored} | ${pct(c.Killed + c.Timeout, counted)} | ${pct(c.Killed, counted)} |`,
  );
}
const counted = total.Killed + total.Timeout + total.Survived + total.NoCoverage;
console.log('| file (`src/model/`) | killed | timeout | survived | no coverage | ignored | score % | timeouts as survivors % |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
console.log(
  `| **all ${rows.length} files** | ${total.Killed} | ${total.Timeout} | ${total.Survived} | ${total.NoCoverage} | ${total.Ignored} | **${pct(total.Killed + total.Timeout, counted)}** | ${pct(total.Killed, counted)} |`,
);
if (total.other > 0) console.log(`\n${total.other} mutants with another status (CompileError, RuntimeError, Pending) are not counted.`);
