#!/usr/bin/env node
// The model alone, two checkouts in one process: is a change to src/model faster or slower?
//   npm run build; node scripts/bench-model-ab.mjs <base checkout> [<new checkout>=.] [profiles...]
// Each checkout must have its dist/ built (`npm run build` there). Both are imported into this one
// process (separate module instances), every profile's events are generated once and handed to
// both, and their step() loops are timed in interleaved rounds (A B, then B A, ...), so machine
// load, heap growth and CPU frequency fall on both alike: whole processes timed one after the
// other on this 2-core machine differ by 20-30% between identical runs, these rounds by 1-3%.
// Prints per profile the best and median round of each and the speed ratio new/base (> 1: the
// new checkout is faster). Env: AB_EVENTS (default 3e5), AB_ROUNDS (default 16).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [baseArg, newArg = '.', ...profilesArg] = process.argv.slice(2);
if (!baseArg) {
  console.error('usage: node scripts/bench-model-ab.mjs <base checkout> [<new checkout>] [profiles...]');
  process.exit(2);
}
const events = Number(process.env.AB_EVENTS ?? 3e5);
const rounds = Number(process.env.AB_ROUNDS ?? 16);

async function load(tree) {
  const dist = resolve(tree, 'dist');
  if (!existsSync(`${dist}/model/system.js`)) {
    console.error(`${tree}: no dist/model/system.js (run \`npm run build\` there first)`);
    process.exit(2);
  }
  const d = (p) => import(pathToFileURL(`${dist}/${p}`).href);
  const [g, pr, sy, rp] = await Promise.all([
    d('generate/generate.js'),
    d('generate/profiles.js'),
    d('model/system.js'),
    d('report/report.js'),
  ]);
  if (existsSync(`${dist}/design/builtins.js`)) await (await d('design/builtins.js')).loadBuiltins();
  return {
    tree,
    generatedSystem: g.generatedSystem,
    PROFILES: pr.PROFILES,
    createSystem: sy.createSystem,
    step: sy.step,
    ReportCollector: rp.ReportCollector,
  };
}

const A = await load(baseArg);
const B = await load(newArg);
const profiles =
  profilesArg.length > 0 ? profilesArg : ['kernel-build', 'mixed', 'pin-exhaustion', 'dma-collide', 'sva-btm', 'hetero-smmu'];
const o = { events, seed: 42, cpus: 8, asidBits: 8, kpti: false };
// The event objects the reader builds (every field present, one shape), numbered by row.
const norm = (e, row) => ({
  row,
  kind: e.kind,
  time: e.time,
  cpu: e.cpu,
  task: e.task,
  mm: e.mm,
  device: e.device,
  domain: e.domain,
  pasid: e.pasid,
  va: e.va,
  size: e.size,
  prot: e.prot,
  op: e.op,
});

function timeRound(t, sys, evs) {
  const m = t.createSystem(sys);
  const col = new t.ReportCollector(sys.smmus.length);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < evs.length; i++) t.step(m, evs[i], col);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
const stats = (x) => {
  const s = [...x].sort((a, b) => a - b);
  return { best: s[0], median: s[s.length >> 1] };
};

console.log(`model alone, ${events} events, ${rounds} interleaved rounds: base ${A.tree}, new ${B.tree}`);
console.log('profile         | base best / median (ms) | new best / median (ms) | new/base speed (best, median) | new M events/s');
for (const profile of profiles) {
  if (!A.PROFILES[profile] || !B.PROFILES[profile]) {
    console.log(`${profile.padEnd(15)} | not a profile of both checkouts`);
    continue;
  }
  const evs = [];
  let row = 1;
  for (const e of A.PROFILES[profile].events(o)) evs.push(norm(e, row++));
  const sysA = A.generatedSystem(profile, o);
  const sysB = B.generatedSystem(profile, o);
  const ra = [];
  const rb = [];
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      ra.push(timeRound(A, sysA, evs));
      rb.push(timeRound(B, sysB, evs));
    } else {
      rb.push(timeRound(B, sysB, evs));
      ra.push(timeRound(A, sysA, evs));
    }
  }
  const a = stats(ra);
  const b = stats(rb);
  const f = (x) => x.toFixed(1);
  console.log(
    `${profile.padEnd(15)} | ${`${f(a.best)} / ${f(a.median)}`.padStart(23)} | ${`${f(b.best)} / ${f(b.median)}`.padStart(22)} | ${`${(a.best / b.best).toFixed(3)}, ${(a.median / b.median).toFixed(3)}`.padStart(29)} | ${(evs.length / b.best / 1e3).toFixed(2)}`,
  );
}
