/**
 * Terminal rendering of a {@link Report} with cli-table3, and its JSON form.
 */
import { createRequire } from 'node:module';
import type TableType from 'cli-table3';
import type { Report } from './report.js';
import { eraFacts } from './era-facts.js';
import { hasSources } from './sources.js';

/**
 * cli-table3, loaded on the first text table: a JSON report (`--json`, `check`, `schema`) never
 * needs it, and loading it is a tenth of a short replay's start-up. It is CommonJS, so `require`
 * loads it synchronously, as the renderers are.
 */
let tableClass: typeof TableType | undefined;
const require = createRequire(import.meta.url);
function newTable(options: TableType.TableConstructorOptions): TableType.Table {
  tableClass ??= require('cli-table3') as typeof TableType;
  return new tableClass(options);
}

/** A row in a sentence: `12`, or `12 (2094.163981@L5173)` with its source. */
const rowText = (row: number, src: string | undefined): string => (src === undefined ? String(row) : `${row} (${src})`);
/** A row in a table cell: the row, and its source on a second line. */
const rowCell = (row: number | null | undefined, src: string | undefined, none = ''): string =>
  row === null || row === undefined ? none : src === undefined ? String(row) : `${row}\n${src}`;
/** Width of a table's row column: the row, or the longest source under it. */
const rowWidth = (srcs: (string | undefined)[]): number => Math.max(9, ...srcs.map((x) => (x?.length ?? 0) + 2));

/** Stable JSON: the report object is built with a fixed key order, so this is byte-identical per input. */
export function renderJson(r: object): string {
  return JSON.stringify(r, null, 2) + '\n';
}

const COMPACT = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };

/** Head of the row columns: `row`, or `row (source)` when the report shows sources; set by {@link renderText}. */
let rowHead = 'row';
/** Width the text report fits (the terminal's, or {@link DEFAULT_WIDTH}); set by {@link renderText}. */
let width = 100;
/** Width of the text report when the output is not a terminal. */
export const DEFAULT_WIDTH = 100;

/**
 * A table whose last column (the free text: details, sources) wraps so that the table fits `width`;
 * `fixed` are the widths the other columns need at most.
 */
function table(head: string[], fixed: number[] = []) {
  const borders = head.length + 1;
  const used = fixed.reduce((a, b) => a + b, 0);
  const last = Math.max(16, width - borders - used);
  const colWidths = head.length > 1 && fixed.length === head.length - 1 ? [...fixed, last] : [];
  return newTable({ head, chars: COMPACT, style: { head: [], border: [] }, colWidths, wordWrap: true });
}

function kv(title: string, rows: [string, string | number][]): string {
  const left = Math.min(Math.max(title.length, ...rows.map(([k]) => k.length)), Math.floor(width / 2));
  const t = table([title, ''], [left + 2]);
  for (const [k, v] of rows) t.push([k, String(v)]);
  return t.toString();
}

/** Rollovers per tenth of the trace's time span (or row span when the trace has no times). */
function rolloverBuckets(r: Report): [string, number][] {
  const s = r.churn.rolloverSeries;
  const useTime =
    r.trace.firstTime !== null && r.trace.lastTime !== null && r.trace.lastTime > r.trace.firstTime && s.every((x) => x.time !== null);
  const lo = useTime ? r.trace.firstTime! : 1;
  const hi = useTime ? r.trace.lastTime! : Math.max(1, ...s.map((x) => x.row));
  const width = Math.max(1, (hi - lo) / 10);
  const counts = new Array(10).fill(0);
  for (const x of s) counts[Math.min(9, Math.floor(((useTime ? x.time! : x.row) - lo) / width))]++;
  const unit = useTime ? (v: number) => `${((v - lo) / 1e9).toFixed(3)} s` : (v: number) => `row ${Math.round(v)}`;
  return counts.map((c, i) => [`${unit(lo + i * width)} .. ${unit(lo + (i + 1) * width)}`, c]);
}

/** The allocatable ASIDs, and when generation 1 has only the even ones (the table and the HTML page say the same). */
export function allocatableSlots(r: Report): string {
  const sys = r.system;
  const evenOnly = sys.unmapKernelAtEl0 && !sys.kpti && (r.allocator.variant === 'v5.6' || r.allocator.variant === 'v5.10');
  return `${r.allocator.numAsids - 1}${evenOnly ? ' (generation 1: even ASIDs only, until the first rollover)' : ''}`;
}

/** The human report: system, churn, pins, violations. */
/**
 * The report as tables for a terminal, fitting `columns` characters (80 stays readable: long text
 * wraps inside its cell).
 */
export function renderText(r: Report, maxViolations = 20, columns = DEFAULT_WIDTH): string {
  width = Math.max(60, columns);
  const sys = r.system;
  // The era table's facts are looked up from the kernel the report names, not carried in it.
  const era = eraFacts(sys);
  const out: string[] = [];
  out.push(`asid-replay: ${r.trace.name}: ${r.trace.events} events`);
  rowHead = hasSources(r) ? 'row\n(source)' : 'row';
  if (rowHead !== 'row') out.push("source of a row: <timestamp in the recording>@L<line of the recording> (the trace's src column)");
  out.push(
    kv('system', [
      ['kernel (era)', `${sys.kernel} (${sys.era})`],
      ...(r.design
        ? [
            [
              'design',
              `${r.design.name} (${r.design.file}, sha256 ${r.design.sha256}): replaces ${r.design.replaced.join(', ') || 'nothing'}`,
            ] as [string, string],
          ]
        : []),
      ['CPUs', sys.cpus],
      ['ASID bits', `${sys.asidBits}${sys.kpti ? ' (KPTI: ASID pairs)' : ''}`],
      ['CONFIG_UNMAP_KERNEL_AT_EL0', sys.unmapKernelAtEl0 ? 'y' : 'n'],
      ['allocator', `${r.allocator.variant}: ${era.allocatorSource}`],
      ['allocatable ASID slots', allocatableSlots(r)],
      ...(sys.smmus.length > 0
        ? ([
            ['SMMU driver design', sys.driver],
            [
              'SVA bind',
              { none: 'not in this kernel (-ENODEV)', 'needs-btm': 'needs FEAT_BTM, never set (-ENODEV)', yes: 'yes' }[era.features.sva],
            ],
            ['PASID freed', era.features.pasidLifetime === 'mmdrop' ? 'at the final mmdrop' : 'at the last unbind'],
            [
              'SVA notifier',
              `${era.features.notifierCutoff ? 'TLBI_NH_ASID from 512 pages' : 'TLBI_NH_VA per page, no cutoff'}; ${era.features.archNotifier ? 'also on permission upgrade' : 'not on permission upgrade'}`,
            ],
          ] as [string, string][])
        : []),
      ['era sources', era.sources.join('; ')],
    ]),
  );
  const c = r.churn;
  out.push(
    kv('ASID churn', [
      ['switch_mm (mm changed)', c.switches],
      ['  fast path / slow path', `${c.fastPath} / ${c.slowPath}`],
      ['same-mm switches / idle (lazy TLB)', `${c.sameMmSwitches} / ${c.idleSwitches}`],
      ['fresh ASID allocations', c.allocations],
      ['ASIDs re-used after rollover (reserved/pinned/free)', `${c.reused.reserved} / ${c.reused.pinned} / ${c.reused.free}`],
      ['rollovers (final generation)', `${c.rollovers} (${r.allocator.finalGeneration})`],
      ['local TLB flushes', c.localTlbFlushes],
      ['broadcast TLBIs (ASID / VA)', `${c.tlbi.asid} / ${c.tlbi.va}`],
      ['address spaces (changed ASID)', `${c.mms.created} (${c.mms.changedAsid})`],
    ]),
  );
  if (c.mms.top.length > 0) {
    const t = table(['mm', 'ASID changes']);
    for (const m of c.mms.top) t.push([m.mm, m.asidChanges]);
    out.push(t.toString());
  }
  if (c.rollovers > 0) {
    const t = table(['rollovers over the trace', 'count']);
    for (const [span, n] of rolloverBuckets(r)) t.push([span, n]);
    out.push(t.toString() + (c.rolloverSeriesTruncated ? `\n(series holds the first ${c.rolloverSeries.length} rollovers)` : ''));
  }
  const p = r.pins;
  out.push(
    kv('pins (arm64_mm_context_get)', [
      ['limit (max_pinned_asids)', p.limit === null ? 'none (underflow)' : p.limit],
      ['  computed as', p.limitFormula],
      ['requests / first pins / re-pins', `${p.requests} / ${p.pinned} / ${p.repins}`],
      ['failures', p.failures + (p.firstFailureRow !== null ? ` (first at row ${rowText(p.firstFailureRow, p.firstFailureSrc)})` : '')],
      ['most held at once', p.maxHeld],
      ['unpins', p.unpins],
    ]),
  );
  const total = Object.values(r.violationCounts).reduce((a, b) => a + b, 0);
  if (total === 0) {
    out.push('violations: none');
  } else {
    const counts = Object.entries(r.violationCounts)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    out.push(`violations: ${total} (${counts})`);
    const listed = r.violations.slice(0, maxViolations);
    const mmWidth = Math.min(24, Math.max(12, ...listed.map((v) => (v.mm?.length ?? 0) + 2)));
    const t = table([rowHead, 'kind', 'cpu', 'asid', 'mm', 'detail'], [rowWidth(listed.map((v) => v.src)), 22, 5, 7, mmWidth]);
    for (const v of listed) {
      t.push([
        rowCell(v.row, v.src),
        v.kind,
        v.cpu ?? '',
        v.asid ?? '',
        v.mm ?? '',
        v.detail + (v.fillRow !== undefined ? ` (entry filled at row ${rowText(v.fillRow, v.fillSrc)})` : ''),
      ]);
    }
    out.push(t.toString());
    if (total > maxViolations) out.push(`... ${total - maxViolations} more (use --json for all)`);
  }
  if (r.devices.smmus.length > 0) out.push(...renderDevices(r, maxViolations));
  return out.join('\n') + '\n';
}

/** SMMU figures, SVA, failed driver calls, stale entries. */
function renderDevices(r: Report, max: number): string[] {
  const out: string[] = [];
  const d = r.devices;
  out.push(`SMMUv3 driver: ${d.driver} (ASID pools: ${d.asidPools})`);
  // One row per figure, a column per SMMU: fits a terminal whatever the number of figures.
  const t = newTable({ head: ['SMMU', ...d.smmus.map((m) => m.name)], chars: COMPACT, style: { head: [], border: [] } });
  const row = (name: string, f: (m: (typeof d.smmus)[number]) => string | number) => t.push([name, ...d.smmus.map((m) => String(f(m)))]);
  row('ASID bits / BTM', (m) => `${m.asidBits} / ${m.btm ? 'yes' : 'no'}`);
  row('ASIDs allocated / freed / moved', (m) => `${m.asidsAllocated} / ${m.asidsFreed} / ${m.asidsMoved}`);
  row('attach / bind failures', (m) => `${m.attachFailures} / ${m.bindFailures}`);
  for (const [op, label] of [
    ['CMD_TLBI_NH_ASID', 'CMD_TLBI_NH_ASID'],
    ['CMD_TLBI_NH_VA', 'CMD_TLBI_NH_VA'],
    ['CMD_ATC_INV', 'CMD_ATC_INV'],
    ['CMD_CFGI_CD', 'CMD_CFGI_CD'],
    ['CMD_CFGI_STE', 'CMD_CFGI_STE'],
    ['CMD_SYNC', 'CMD_SYNC (cmdlists)'],
  ] as const) {
    row(label, (m) => (op === 'CMD_SYNC' ? `${m.commands[op]} (${m.cmdlists})` : m.commands[op]));
  }
  row('BTM snoops', (m) => m.btmSnoops);
  row('IOTLB hits / misses (ATC hits)', (m) => `${m.hits} / ${m.misses} (${m.atcHits})`);
  row('DMA faults', (m) => m.faults);
  out.push(t.toString());
  const v = d.sva;
  out.push(
    kv('SVA', [
      ['binds / re-binds / unbinds', `${v.binds} / ${v.rebinds} / ${v.unbinds}`],
      ['mm releases while bound', v.releases],
      ['PASIDs allocated / freed / in use', `${v.pasidsAllocated} / ${v.pasidsFreed} / ${v.pasidsInUse}`],
      ['stepped operations / steps / idle resumes', `${v.opsStarted} / ${v.opSteps} / ${v.idleResumes}`],
    ]),
  );
  for (const o of d.opsInFlight)
    out.push(
      `warning: operation ${o.op} (${o.what}, row ${rowText(o.row, o.src)}) still in flight at the end: ${o.stepsLeft} steps not resumed`,
    );
  const fc = d.failureCounts;
  const nf = fc.attach + fc.bind + fc.map;
  if (nf > 0) {
    out.push(`device failures: ${nf} (attach ${fc.attach}, bind ${fc.bind}, map ${fc.map})`);
    const listed = d.failures.slice(0, max);
    const ft = table([rowHead, 'call', 'errno', 'device', 'smmu', 'detail'], [rowWidth(listed.map((f) => f.src)), 8, 12, 10, 10]);
    for (const f of listed) ft.push([rowCell(f.row, f.src), f.call, `-${f.errno}`, f.device ?? '', f.smmu ?? '', f.detail]);
    out.push(ft.toString());
    if (nf > max) out.push(`... ${nf - max} more (use --json for all)`);
  }
  const st = r.stale;
  if (st.total === 0) {
    out.push('stale IOTLB/ATC entries: none');
    return out;
  }
  const counts = Object.entries(st.counts)
    .filter(([, c]) => c.hit + c.latent > 0)
    .map(([k, c]) => `${k} ${c.hit} hit, ${c.latent} latent`)
    .join('; ');
  out.push(`stale IOTLB/ATC entries: ${st.total} (${counts})`);
  const tt = table([rowHead, 'kind', 'cache', 'smmu', 'device', 'pasid', 'asid', 'va', 'filled at', 'should be gone at', 'detail']);
  for (const f of st.findings.slice(0, max)) {
    tt.push([
      rowCell(f.row, f.src),
      f.kind + (f.latent ? ' (latent)' : ''),
      f.cache,
      f.smmu,
      f.device,
      f.pasid,
      f.asid,
      '0x' + f.va.toString(16),
      rowCell(f.fillRow, f.fillSrc),
      rowCell(f.shouldHaveRow, f.shouldHaveSrc, '?'),
      f.detail,
    ]);
  }
  out.push(tt.toString());
  if (st.total > max) out.push(`... ${st.total - max} more (use --json for all)`);
  return out;
}
