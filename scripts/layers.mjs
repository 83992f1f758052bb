#!/usr/bin/env node
/**
 * The layers of src/, bottom to top: a folder may import only from its own layer or a lower one, so
 * data flows one way and no two folders import each other (docs/architecture.md). Run by `npm run
 * lint`. Reads every import and export-from specifier, `import type` and dynamic `import()` included.
 * Exit 1 with each offending file:line when a folder imports one above it.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** Bottom first. Folders on one line share a layer only if listed together. */
export const LAYERS = [
  ['util'],
  ['model'],
  ['trace'],
  ['design'],
  ['import', 'generate'],
  ['report'],
  ['replay'],
  ['shrink'],
  ['explore'],
  ['check'],
  ['cli'],
];
const rank = new Map(LAYERS.flatMap((fs, i) => fs.map((f) => [f, i])));

const SRC = resolve('src');
const files = readdirSync(SRC, { recursive: true })
  .map(String)
  .filter((f) => /\.(c|m)?ts$/.test(f));
const IMPORT_RE = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;
const problems = [];
for (const f of files) {
  const top = f.split(sep)[0];
  if (!rank.has(top)) {
    problems.push(`src/${f}: folder "${top}" is in no layer of scripts/layers.mjs`);
    continue;
  }
  const text = readFileSync(join(SRC, f), 'utf8');
  for (const m of text.matchAll(IMPORT_RE)) {
    const target = relative(SRC, resolve(SRC, dirname(f), m[1]));
    if (target.startsWith('..')) continue; // outside src/ (dist/ paths of worker entries)
    const to = target.split(sep)[0];
    if (to === top) continue;
    const line = text.slice(0, m.index).split('\n').length;
    if (!rank.has(to)) problems.push(`src/${f}:${line}: imports "${m[1]}", in no layer`);
    else if (rank.get(to) > rank.get(top))
      problems.push(`src/${f}:${line}: ${top} (layer ${rank.get(top)}) imports ${to} (layer ${rank.get(to)}, above it): "${m[1]}"`);
  }
}
if (problems.length) {
  console.error(`layers: ${problems.length} import(s) against the layer order (scripts/layers.mjs):\n${problems.join('\n')}`);
  process.exit(1);
}
console.log(`layers: ${files.length} files, every import goes down or stays in its folder`);
