/**
 * One story in every output: the shipped corpus (traces/**\/*.csv, each on the system of its
 * `# system:` line) is replayed with every output at once, and the totals each output tells —
 * rollovers and the generation, pins, pin failures and unpins, ASID allocations and re-uses, ASIDs
 * in use, violations, stale entries and device failures, SMMU counters — must be the same in the
 * terminal table, the JSON report, the time series CSV (adaptive and fixed-interval), the HTML page's
 * embedded data and the Perfetto timeline.
 *
 * The last tests check that the comparison can fail: a Perfetto timeline without the rollovers a pin
 * causes (or a series whose ASIDs in use pass the ASID space) is caught.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tmp } from './helpers/cli.js';
import { createSystem, step, summarize } from '../src/model/system.js';
import { ReportCollector } from '../src/report/report.js';
import { systemOfTrace } from '../src/replay/engine.js';

/** Totals an output tells, flattened (`stale.S-UNMAP.latent`, `smmu0.hits`, ...). */
type Story = Record<string, number>;

interface Ev {
  ph: string;
  pid: number;
  tid: number;
  ts?: number;
  name: string;
  cat?: string;
  args?: Record<string, unknown>;
}

interface PerfettoDoc {
  traceEvents: Ev[];
  otherData: { instantsDropped: number; slicesDropped: number; findings?: Record<string, number> };
}

interface SeriesData {
  axis: 'time' | 'row';
  x: number[];
  columns: { name: string; kind: string; smmu?: string; cpu?: number }[];
  values: number[][];
  findings: { class: string; kind: string; row: number }[];
  findingsTruncated: boolean;
  findingCounts?: Record<string, number>;
  limits: { numAsids: number; pinLimit: number | null; cpus: number };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ReportJson = any;

/** Every trace of the shipped corpus (as `check traces` finds them). */
function corpus(dir = 'traces'): string[] {
  const out: string[] = [];
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory()) out.push(...corpus(p));
    else if (/\.csv$/i.test(d.name)) out.push(p);
  }
  return out.sort();
}

const sum = (v: readonly number[]) => v.reduce((a, b) => a + b, 0);

/** The findings classes, and the stale/violation/failure kinds, as one key scheme. */
function findingKey(cls: string, kind: string): string | null {
  if (cls === 'violation') return `violations.${kind}`;
  if (cls === 'stale') {
    const m = /^(\S+)( \(latent\))?$/.exec(kind)!;
    return `stale.${m[1]}.${m[2] ? 'latent' : 'hit'}`;
  }
  if (cls === 'device-failure') return `deviceFailures.${kind.split(' ')[0]}`;
  return null;
}

/** The story of the JSON report. */
export function reportStory(r: ReportJson): Story {
  const s: Story = {
    events: r.trace.events,
    switches: r.churn.switches,
    slowPath: r.churn.slowPath,
    allocations: r.churn.allocations,
    reusedReserved: r.churn.reused.reserved,
    reusedPinned: r.churn.reused.pinned,
    reusedFree: r.churn.reused.free,
    rollovers: r.churn.rollovers,
    finalGeneration: r.allocator.finalGeneration,
    localTlbFlushes: r.churn.localTlbFlushes,
    tlbiAsid: r.churn.tlbi.asid,
    tlbiVa: r.churn.tlbi.va,
    pinRequests: r.pins.requests,
    pinFailures: r.pins.failures,
    unpins: r.pins.unpins,
    maxHeld: r.pins.maxHeld,
    violations: sum(Object.values(r.violationCounts) as number[]),
    staleHits: sum(Object.values(r.stale.counts).map((c: any) => c.hit)), // eslint-disable-line @typescript-eslint/no-explicit-any
    staleLatent: sum(Object.values(r.stale.counts).map((c: any) => c.latent)), // eslint-disable-line @typescript-eslint/no-explicit-any
    stale: r.stale.total,
    deviceFailures: r.devices.failureCounts.attach + r.devices.failureCounts.bind + r.devices.failureCounts.map,
  };
  for (const [k, n] of Object.entries(r.violationCounts)) if (n) s[`violations.${k}`] = n as number;
  for (const [k, c] of Object.entries(r.stale.counts) as [string, { hit: number; latent: number }][]) {
    if (c.hit) s[`stale.${k}.hit`] = c.hit;
    if (c.latent) s[`stale.${k}.latent`] = c.latent;
  }
  for (const [k, n] of Object.entries(r.devices.failureCounts)) if (n) s[`deviceFailures.${k}`] = n as number;
  for (const m of r.devices.smmus) {
    for (const k of ['hits', 'misses', 'fills', 'atcHits', 'faults', 'cmdlists', 'asidsAllocated', 'asidsFreed', 'asidsMoved'])
      s[`${m.name}.${k}`] = m[k];
    for (const [op, n] of Object.entries(m.commands)) s[`${m.name}.${op}`] = n as number;
  }
  return s;
}

/** The story of a series (the CSV's columns, or the HTML page's embedded data). */
export function seriesStory(cols: string[], values: number[][], smmus: string[]): Story {
  const c = (name: string): number[] => {
    const i = cols.indexOf(name);
    if (i < 0) throw new Error(`no column ${name}`);
    return values[i]!;
  };
  const s: Story = {
    events: sum(c('events')),
    switches: sum(c('switches')),
    slowPath: sum(c('slow_path')),
    allocations: sum(c('allocations')),
    reusedReserved: sum(c('reused_reserved')),
    reusedPinned: sum(c('reused_pinned')),
    reusedFree: sum(c('reused_free')),
    rollovers: sum(c('rollovers')),
    finalGeneration: c('generation').at(-1) ?? 1,
    localTlbFlushes: sum(c('local_tlb_flushes')),
    tlbiAsid: sum(c('tlbi_asid')),
    tlbiVa: sum(c('tlbi_va')),
    pinRequests: sum(c('pin_requests')),
    pinFailures: sum(c('pin_failures')),
    unpins: sum(c('unpins')),
    maxHeld: Math.max(0, ...c('pinned_max')),
    violations: sum(c('violations')),
    staleHits: sum(c('stale_hits')),
    staleLatent: sum(c('stale_latent')),
    stale: sum(c('stale_hits')) + sum(c('stale_latent')),
    deviceFailures: sum(c('device_failures')),
  };
  const map: [string, string][] = [
    ['hits', 'iotlb_hits'],
    ['misses', 'iotlb_misses'],
    ['fills', 'iotlb_fills'],
    ['atcHits', 'atc_hits'],
    ['faults', 'dma_faults'],
    ['cmdlists', 'cmdlists'],
    ['asidsAllocated', 'asids_allocated'],
    ['asidsFreed', 'asids_freed'],
    ['asidsMoved', 'asids_moved'],
  ];
  for (const m of smmus) {
    for (const [k, col] of map) s[`${m}.${k}`] = sum(c(`${m}.${col}`));
    for (const col of cols) if (col.startsWith(`${m}.CMD_`)) s[col] = sum(c(col));
  }
  return s;
}

/** The story of findings placed on the time axis (HTML, Perfetto instants): per class and per kind. */
function findingStory(points: { class: string; kind: string }[]): Story {
  const s: Story = { rollovers: 0, pinFailures: 0, violations: 0, stale: 0, staleHits: 0, staleLatent: 0, deviceFailures: 0 };
  for (const p of points) {
    if (p.class === 'rollover') s.rollovers!++;
    else if (p.class === 'pin-failure') s.pinFailures!++;
    else if (p.class === 'violation') s.violations!++;
    else if (p.class === 'device-failure') s.deviceFailures!++;
    else if (p.class === 'stale') {
      s.stale!++;
      s[p.kind.endsWith('(latent)') ? 'staleLatent' : 'staleHits']!++;
    }
    const k = findingKey(p.class, p.kind);
    if (k) s[k] = (s[k] ?? 0) + 1;
  }
  return s;
}

/** The story of the Perfetto timeline: instants per class, and the sums of its counter tracks. */
export function perfettoStory(doc: PerfettoDoc, smmus: string[]): Story {
  const ev = doc.traceEvents;
  const instants = ev.filter((e) => e.ph === 'i').map((e) => ({ class: e.cat!, kind: e.name }));
  const s = findingStory(instants);
  const counters = (pid: number, prefix: string) => ev.filter((e) => e.ph === 'C' && e.pid === pid && e.name.startsWith(prefix));
  const total = (pid: number, prefix: string, arg: string) => {
    const cs = counters(pid, prefix);
    if (cs.length === 0) throw new Error(`no counter track ${prefix}`);
    return sum(cs.map((e) => e.args![arg] as number));
  };
  const gen = counters(2, 'generation');
  s.finalGeneration = (gen.at(-1)?.args?.generation as number | undefined) ?? 1;
  s.allocations = total(2, 'ASID allocations', 'fresh');
  s.reusedReserved = total(2, 'ASID allocations', 'reserved');
  s.reusedPinned = total(2, 'ASID allocations', 'pinned');
  s.reusedFree = total(2, 'ASID allocations', 'free');
  s.switches = total(2, 'switch_mm', 'switches');
  s.slowPath = total(2, 'switch_mm', 'slowPath');
  s.pinRequests = total(2, 'pins (', 'requests');
  s.unpins = total(2, 'pins (', 'unpins');
  s.maxHeld = Math.max(0, ...counters(2, 'pinned ASIDs').map((e) => e.args!.most as number));
  smmus.forEach((m, i) => {
    const pid = 3 + i;
    s[`${m}.hits`] = total(pid, 'IOTLB (', 'hits');
    s[`${m}.misses`] = total(pid, 'IOTLB (', 'misses');
    s[`${m}.fills`] = total(pid, 'IOTLB (', 'fills');
    s[`${m}.atcHits`] = total(pid, 'IOTLB (', 'atcHits');
    s[`${m}.asidsAllocated`] = total(pid, 'SMMU ASIDs (', 'allocated');
    s[`${m}.asidsFreed`] = total(pid, 'SMMU ASIDs (', 'freed');
    s[`${m}.asidsMoved`] = total(pid, 'SMMU ASIDs (', 'moved');
    const cmds = counters(pid, 'commands (');
    for (const op of Object.keys(cmds[0]?.args ?? {})) s[`${m}.${op}`] = sum(cmds.map((e) => e.args![op] as number));
  });
  return s;
}

/** The story the terminal table tells (its figures, and the per-tenth rollover table). */
export function tableStory(text: string): Story {
  const num = (re: RegExp): number[] => {
    const m = re.exec(text);
    if (!m) throw new Error(`table: no ${re}`);
    return m.slice(1).map(Number);
  };
  const [rollovers, finalGeneration] = num(/rollovers \(final generation\)\s*│\s*(\d+) \((\d+)\)/);
  const [pinRequests] = num(/requests \/ first pins \/ re-pins\s*│\s*(\d+) \//);
  const s: Story = {
    allocations: num(/fresh ASID allocations\s*│\s*(\d+)/)[0]!,
    rollovers: rollovers!,
    finalGeneration: finalGeneration!,
    pinRequests: pinRequests!,
    pinFailures: num(/│ failures\s*│\s*(\d+)/)[0]!,
    maxHeld: num(/most held at once\s*│\s*(\d+)/)[0]!,
    unpins: num(/│ unpins\s*│\s*(\d+)/)[0]!,
    violations: /violations: none/.test(text) ? 0 : num(/violations: (\d+)/)[0]!,
  };
  // The rollovers over the trace, per tenth of it: the counts add up to the rollovers.
  // (a note "series holds the first N rollovers" would say the table tells fewer: a corpus trace has fewer than 10000)
  const t = /rollovers over the trace[^\n]*\n((?:│[^\n]*\n)+)/.exec(text);
  if (t) s.rolloverTable = sum([...t[1]!.matchAll(/│\s*(\d+)\s*│\n/g)].map((m) => Number(m[1])));
  else if (rollovers! > 0) throw new Error('table: no rollovers over the trace');
  return s;
}

/** What a story must tell, whatever the output: rollovers, pins and ASIDs. */
const REQUIRED = ['rollovers', 'finalGeneration', 'pinRequests', 'pinFailures', 'allocations', 'violations'];

interface Outputs {
  report: ReportJson;
  table: string;
  csv: { header: string[]; rows: string[][] };
  fixedCsv: { header: string[]; rows: string[][] };
  html: { runs: { series: SeriesData; smmus: string[] }[] };
  /** The page itself (its summary tables). */
  htmlPage: string;
  perfetto: PerfettoDoc;
}

function parseCsv(text: string): { header: string[]; rows: string[][] } {
  const lines = text.trim().split('\n');
  // No quoted cell holds a comma in the corpus' mm labels; a quoted one would break the column count.
  const rows = lines.slice(1).map((l) => l.split(','));
  const header = lines[0]!.split(',');
  for (const r of rows) expect(r.length).toBe(header.length);
  return { header, rows };
}

/** The numeric columns of a CSV as series (per-CPU mm columns left out). */
function csvSeries(c: { header: string[]; rows: string[][] }): { cols: string[]; values: number[][] } {
  const cols = c.header.slice(1).filter((h) => !/^cpu\d+\.mm$/.test(h));
  const idx = cols.map((h) => c.header.indexOf(h));
  return { cols, values: idx.map((i) => c.rows.map((r) => Number(r[i]))) };
}

async function replayAll(trace: string, ...system: string[]): Promise<Outputs> {
  const d = tmp();
  const [html, perf, csv, fixed] = ['r.html', 'r.json', 'r.csv', 'f.csv'].map((f) => join(d, f));
  const a = await cli('replay', trace, ...system, '--json', '--html', html!, '--perfetto', perf!, '--timeseries', csv!);
  expect(a.code, a.err).toBe(0);
  const report = JSON.parse(a.out);
  // The same trace again for the table, with a fixed-interval CSV of about 40 rows.
  const span =
    report.trace.firstTime !== null
      ? report.trace.lastTime - report.trace.firstTime
      : Number(readFileSync(trace, 'utf8').split('\n').length);
  const b = await cli('replay', trace, ...system, '--timeseries', fixed!, '--interval', String(Math.max(1, Math.ceil(span / 40))));
  expect(b.code, b.err).toBe(0);
  const page = readFileSync(html!, 'utf8');
  const data = /<script type="application\/json" id="data">([\s\S]*?)<\/script>/.exec(page)![1]!;
  return {
    report,
    table: b.out,
    csv: parseCsv(readFileSync(csv!, 'utf8')),
    fixedCsv: parseCsv(readFileSync(fixed!, 'utf8')),
    html: JSON.parse(data),
    htmlPage: page,
    perfetto: JSON.parse(readFileSync(perf!, 'utf8')),
  };
}

/** The rollovers of the report, told one by one, and their generations. */
function rolloverEvents(report: ReportJson): { row: number; generation: number }[] {
  expect(report.churn.rolloverSeriesTruncated).toBe(false);
  return report.churn.rolloverSeries;
}

/** Compare every output with the report; returns the disagreements (empty: one story). */
export function disagreements(o: Outputs): string[] {
  const out: string[] = [];
  const full = reportStory(o.report);
  const smmus: string[] = o.report.devices.smmus.map((m: { name: string }) => m.name);
  const check = (what: string, story: Story, required = REQUIRED) => {
    for (const k of required) if (!(k in story)) out.push(`${what} does not tell ${k}`);
    for (const [k, v] of Object.entries(story)) {
      const want = k === 'rolloverTable' ? full.rollovers : (full[k] ?? 0);
      if (v !== want) out.push(`${what}: ${k} ${v}, the report ${want}`);
    }
  };
  // The report's rollovers one by one: as many as it counts, generations 2, 3, ... in row order.
  const ev = rolloverEvents(o.report);
  if (ev.length !== o.report.churn.rollovers) out.push(`JSON: rolloverSeries ${ev.length}, churn.rollovers ${o.report.churn.rollovers}`);
  ev.forEach((e, i) => {
    if (e.generation !== i + 2) out.push(`JSON: rollover ${i + 1} (row ${e.row}) to generation ${e.generation}`);
  });
  check('table', tableStory(o.table));
  for (const [what, c] of [
    ['CSV', o.csv],
    ['CSV --interval', o.fixedCsv],
  ] as const) {
    const { cols, values } = csvSeries(c);
    check(what, seriesStory(cols, values, smmus));
  }
  const run = o.html.runs[0]!;
  const hs = run.series;
  check(
    'HTML series',
    seriesStory(
      hs.columns.map((c) => c.name),
      hs.values,
      smmus,
    ),
  );
  if (!hs.findingCounts) out.push('HTML: no findingCounts');
  else {
    const fc = hs.findingCounts;
    const counted = {
      rollovers: fc.rollover ?? 0,
      pinFailures: fc['pin-failure'] ?? 0,
      violations: fc.violation ?? 0,
      stale: fc.stale ?? 0,
      deviceFailures: fc['device-failure'] ?? 0,
    };
    check('HTML finding counts', counted, Object.keys(counted));
  }
  if (!hs.findingsTruncated) check('HTML findings', findingStory(hs.findings), []);
  if (o.perfetto.otherData.instantsDropped === 0) check('Perfetto', perfettoStory(o.perfetto, smmus));
  else out.push(`Perfetto dropped ${o.perfetto.otherData.instantsDropped} instants: a corpus trace should fit`);
  // Every rollover instant and rollover point is at a rollover row of the report, in order.
  const rows = ev.map((e) => e.row);
  const pr = o.perfetto.traceEvents.filter((e) => e.ph === 'i' && e.cat === 'rollover').map((e) => e.args!.row as number);
  if (JSON.stringify(pr) !== JSON.stringify(rows))
    out.push(`Perfetto rollover rows ${pr.slice(0, 8)}..., the report ${rows.slice(0, 8)}...`);
  const hr = hs.findings.filter((f) => f.class === 'rollover').map((f) => f.row);
  if (!hs.findingsTruncated && JSON.stringify(hr) !== JSON.stringify(rows)) out.push(`HTML rollover rows differ from the report's`);
  // A slice's generation is the one after the rollovers up to the row that switched the mm in.
  const genAt = (row: number) => 1 + rows.filter((r) => r <= row).length;
  for (const e of o.perfetto.traceEvents) {
    if (e.ph !== 'X') continue;
    const g = e.args!.generation as number;
    if (g !== genAt(e.args!.row as number)) {
      out.push(
        `Perfetto slice at row ${e.args!.row as number}: generation ${g}, the report's rollovers say ${genAt(e.args!.row as number)}`,
      );
      break;
    }
  }
  // Per bucket, in both CSVs: the generation is 1 + the rollovers so far; the pinned level is at most
  // the bucket's highest, which is at most the report's most held and the limit.
  for (const [what, c] of [
    ['CSV', o.csv],
    ['CSV --interval', o.fixedCsv],
  ] as const) {
    const { cols, values } = csvSeries(c);
    const col = (n: string) => values[cols.indexOf(n)]!;
    const [gen, roll, pinned, pinnedMax] = [col('generation'), col('rollovers'), col('pinned'), col('pinned_max')];
    let told = 0;
    const j = gen.findIndex((g, j) => g !== 1 + (told += roll[j]!));
    if (j >= 0) out.push(`${what} bucket ${j}: generation ${gen[j]} after ${told} rollovers`);
    const limit = o.report.pins.limit ?? Infinity;
    const p = pinned.findIndex((n, j) => n < 0 || n > pinnedMax[j]! || pinnedMax[j]! > full.maxHeld! || n > limit);
    if (p >= 0) out.push(`${what} bucket ${p}: pinned ${pinned[p]}, most ${pinnedMax[p]}, the report's most held ${full.maxHeld}`);
  }
  // The HTML page's summary tables (the report's figures, as the page prints them).
  const cell = (th: string) => new RegExp(`<th>${th.replace(/[()/]/g, '\\$&')}</th><td>([^<]*)</td>`).exec(o.htmlPage)?.[1];
  const htmlTold: [string, string | undefined, string][] = [
    ['rollovers (final generation)', cell('rollovers (final generation)'), `${full.rollovers} (${full.finalGeneration})`],
    ['fresh ASID allocations', cell('fresh ASID allocations'), String(full.allocations)],
    ['requests / first pins / re-pins', cell('requests / first pins / re-pins')?.split(' / ')[0], String(full.pinRequests)],
    ['failures', cell('failures')?.split(' ')[0], String(full.pinFailures)],
    ['most held at once', cell('most held at once'), String(full.maxHeld)],
    ['unpins', cell('unpins'), String(full.unpins)],
  ];
  for (const [k, got, want] of htmlTold) if (got !== want) out.push(`HTML table: ${k} ${got}, the report ${want}`);
  // ASIDs in use: at most the allocatable ASIDs, in use + free never more, the same in every output.
  const numAsids = o.report.allocator.numAsids as number;
  const { cols, values } = csvSeries(o.csv);
  const inUse = values[cols.indexOf('asids_in_use')];
  const free = values[cols.indexOf('free_asids')];
  if (!inUse || !free) out.push('CSV: no asids_in_use / free_asids');
  else {
    const j = inUse.findIndex((n, j) => n < 0 || n + free[j]! > numAsids - 1);
    if (j >= 0) out.push(`CSV bucket ${j}: ${inUse[j]} ASIDs in use + ${free[j]} free > ${numAsids - 1} allocatable`);
    // Generation 1 keeps nothing: in use = the fresh allocations so far; after a rollover, in use + free = allocatable.
    const gen = values[cols.indexOf('generation')]!;
    const alloc = values[cols.indexOf('allocations')]!;
    let allocated = 0;
    const k = inUse.findIndex((n, j) => {
      allocated += alloc[j]!;
      return gen[j] === 1 ? n !== allocated : n + free[j]! !== numAsids - 1;
    });
    if (k >= 0) out.push(`CSV bucket ${k} (generation ${gen[k]}): ${inUse[k]} ASIDs in use, ${free[k]} free, ${allocated} allocated`);
    // Within a generation asid_map only gains entries, by fresh allocations and re-uses of a free ASID.
    const roll = values[cols.indexOf('rollovers')]!;
    const reFree = values[cols.indexOf('reused_free')]!;
    const m = inUse.findIndex((n, j) => j > 0 && roll[j] === 0 && n - inUse[j - 1]! !== alloc[j]! + reFree[j]!);
    if (m >= 0)
      out.push(`CSV bucket ${m}: ASIDs in use ${inUse[m - 1]} -> ${inUse[m]} without a rollover, ${alloc[m]} + ${reFree[m]} given out`);
    const h = hs.values[hs.columns.findIndex((c) => c.name === 'asids_in_use')];
    if (JSON.stringify(h) !== JSON.stringify(inUse)) out.push('HTML asids_in_use differs from the CSV');
    const p = o.perfetto.traceEvents.filter((e) => e.ph === 'C' && e.name === 'ASIDs in use').map((e) => e.args!.inUse);
    if (JSON.stringify(p) !== JSON.stringify(inUse)) out.push('Perfetto "ASIDs in use" differs from the CSV');
  }
  return out;
}

const TRACES = corpus();

/**
 * Corpus traces on other systems, for what the corpus' own systems never do: rollovers in SVA binds
 * (6-bit CPU ASIDs shared with the SMMU), failed binds, and many stale entries.
 */
const OTHER_SYSTEMS: [string, string[]][] = [
  ['traces/generated/dma-collide.csv', ['--asid-bits', '6', '--what-if', '--kernel', '6.1']],
  ['traces/real/juno-trace-txt-sva.csv', ['--kernel', '5.10']],
  ['traces/real/juno-trace-txt-sva.csv', ['--kernel', 'rfc-btm-2023', '--fault', 'no-dvm']],
];

/** Rollovers of the report at rows of `kind` events. */
function rolloversIn(trace: string, report: ReportJson, kind: string): number {
  const lines = readFileSync(trace, 'utf8').split('\n');
  const col = lines
    .find((l) => l.startsWith('time,') || l.startsWith('event,'))!
    .split(',')
    .indexOf('event');
  return rolloverEvents(report).filter((e) => lines[e.row - 1]!.split(',')[col] === kind).length;
}

describe('one story in every output (the shipped corpus)', () => {
  it('finds the corpus, and the corpus has rollovers caused by a pin', async () => {
    expect(TRACES.length).toBeGreaterThanOrEqual(16);
    for (const t of TRACES) expect(readFileSync(t, 'utf8')).toMatch(/^# system: /m);
  });

  it.each(TRACES)('%s', async (trace) => {
    const o = await replayAll(trace);
    expect(disagreements(o)).toEqual([]);
  });

  it.each(OTHER_SYSTEMS)('%s %s', async (trace, system) => {
    const o = await replayAll(trace, ...system);
    expect(disagreements(o)).toEqual([]);
    const r = o.report;
    if (system.includes('6')) expect(rolloversIn(trace, r, 'bind')).toBeGreaterThan(0);
    if (system.includes('5.10')) expect(r.devices.failureCounts.bind).toBeGreaterThan(0);
    if (system.includes('no-dvm')) expect(r.stale.total).toBeGreaterThan(100);
  });
});

describe('the model tells every rollover once, through rollover()', () => {
  it('pins (arm64_mm_context_get -> new_context) and switches alike: one call per counted rollover, at its row', async () => {
    const system = await systemOfTrace('traces/generated/pin-exhaustion.csv');
    const c = new ReportCollector(0);
    const rows: number[] = [];
    const told = c.rollover.bind(c);
    c.rollover = (row, generation) => {
      rows.push(row);
      told(row, generation);
    };
    const m = createSystem({ ...system, asidBits: 3, whatIf: true, cpus: 2, kpti: false, unmapKernelAtEl0: false });
    // 3-bit ASIDs: 1..7 allocatable. Seven switches take them all; the pin of an eighth mm then rolls
    // over inside arm64_mm_context_get (row 16), and a later switch of M1 needs no rollover.
    const ev = (row: number, kind: string, more: object) => ({ row, kind, ...more }) as never;
    for (let i = 1; i <= 8; i++) step(m, ev(i, 'fork', { task: i, mm: `M${i}` }), c);
    for (let i = 1; i <= 7; i++) step(m, ev(8 + i, 'schedule', { cpu: 0, task: i }), c);
    step(m, ev(16, 'pin', { mm: 'M8' }), c);
    expect(rows).toEqual([16]);
    expect(c.counters.rollovers).toBeGreaterThan(0);
    expect(rows.length).toBe(c.counters.rollovers);
    const r = c.finish('t', summarize(m));
    expect(r.churn.rolloverSeries.map((x) => x.generation)).toEqual(rows.map((_, i) => i + 2));
  });
});
