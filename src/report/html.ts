/**
 * `replay --html report.html` and `compare --html`: one self-contained page (uPlot and its CSS
 * inlined, the data as JSON in the page, no network) with the series of {@link SeriesCollector} as
 * charts, the per-CPU timeline, the findings on the time axis (each linking to its row, its fill
 * row and the row that should have invalidated it, with the text of those trace lines) and the
 * summary tables of the report.
 *
 * Size bound: at most {@link MAX_POINTS} buckets per series, {@link MAX_FINDING_POINTS} findings of
 * each class on the axis, {@link MAX_TABLE_FINDINGS} in the table and {@link MAX_EXCERPTS} trace lines, whatever
 * the trace length: about 0.3-2 MB, and the page draws the same number of points at 10^3 or 10^7
 * events.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import type { Report } from './report.js';
import { reportSources } from './sources.js';
import { allocatableSlots } from './render.js';
import { MAX_FINDING_POINTS, MAX_POINTS, type Series } from './series.js';

/** Most findings listed in the page's table (all of them are on the chart, up to MAX_FINDING_POINTS). */
export const MAX_TABLE_FINDINGS = 2000;
/** Most trace lines quoted in the page (rows of findings, fill rows, should-have rows). */
export const MAX_EXCERPTS = 3000;

/** A trace line quoted in the page. */
export interface Excerpt {
  text: string;
  /** Its time (ns), when the trace has a time column and the cell is set. */
  time?: number;
}

/** One replayed system: its report and series (compare gives several). */
export interface HtmlRun {
  /** Short name of the system (compare: `6.1 / 8-bit`); the trace name for a single replay. */
  label: string;
  report: Report;
  series: Series;
}

/**
 * Read the trace lines `rows` (1-based line numbers) from `file`, with their time cell.
 * Streams the file once; stops after the last row asked for.
 */
export async function readExcerpts(file: string, rows: Iterable<number>): Promise<Map<number, Excerpt>> {
  const want = new Set([...rows].filter((r) => Number.isInteger(r) && r > 0).slice(0, MAX_EXCERPTS));
  const out = new Map<number, Excerpt>();
  if (want.size === 0) return out;
  const last = Math.max(...want);
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let line = 0;
  let timeCol = -1;
  let headerSeen = false;
  try {
    for await (const text of rl) {
      line++;
      if (!headerSeen && text && !text.startsWith('#')) {
        headerSeen = true;
        timeCol = text
          .split(',')
          .map((s) => s.trim())
          .indexOf('time');
      } else if (want.has(line)) {
        const cell = timeCol >= 0 ? text.split(',')[timeCol]?.trim() : undefined;
        const t = cell ? Number(cell) : NaN;
        out.set(line, Number.isFinite(t) ? { text, time: t } : { text });
      }
      if (line >= last) break;
    }
  } finally {
    rl.close();
  }
  return out;
}

/** The rows the page quotes for a series' findings. */
export function excerptRows(s: Series): number[] {
  const rows: number[] = [];
  for (const f of s.findings.filter((x) => x.class !== 'rollover').slice(0, MAX_TABLE_FINDINGS)) {
    rows.push(f.row);
    if (f.fillRow !== undefined) rows.push(f.fillRow);
    if (f.shouldHaveRow !== undefined) rows.push(f.shouldHaveRow);
  }
  return [...new Set(rows)].sort((a, b) => a - b);
}

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** JSON safe inside a `<script>` element. */
const scriptJson = (v: unknown): string =>
  JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

function uplotAssets(): { js: string; css: string } {
  const req = createRequire(import.meta.url);
  return {
    js: readFileSync(req.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(req.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
}

function kvTable(title: string, rows: [string, string | number][]): string {
  return `<table class="kv"><caption>${esc(title)}</caption>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(String(v))}</td></tr>`).join('')}</table>`;
}

/** Summary tables of one report (the terminal report's figures). */
function summaryTables(r: Report): string {
  const s = r.system;
  const c = r.churn;
  const p = r.pins;
  const out = [
    kvTable('system', [
      ['kernel (era)', `${s.kernel} (${s.era})`],
      ['CPUs', s.cpus],
      ['ASID bits', `${s.asidBits}${s.kpti ? ' (KPTI)' : ''}`],
      ['allocator', `${r.allocator.variant}: ${r.allocator.source}`],
      ['allocatable ASID slots', allocatableSlots(r)],
      ...(s.smmus.length > 0 ? ([['SMMU driver design', s.driver]] as [string, string][]) : []),
    ]),
    kvTable('ASID churn', [
      ['switch_mm (mm changed)', c.switches],
      ['fast path / slow path', `${c.fastPath} / ${c.slowPath}`],
      ['fresh ASID allocations', c.allocations],
      ['re-used after rollover (reserved / pinned / free)', `${c.reused.reserved} / ${c.reused.pinned} / ${c.reused.free}`],
      ['rollovers (final generation)', `${c.rollovers} (${r.allocator.finalGeneration})`],
      ['local TLB flushes', c.localTlbFlushes],
      ['broadcast TLBIs (ASID / VA)', `${c.tlbi.asid} / ${c.tlbi.va}`],
      ['address spaces (changed ASID)', `${c.mms.created} (${c.mms.changedAsid})`],
    ]),
    kvTable('pins (arm64_mm_context_get)', [
      ['limit (max_pinned_asids)', p.limit === null ? 'none (underflow)' : p.limit],
      ['requests / first pins / re-pins', `${p.requests} / ${p.pinned} / ${p.repins}`],
      ['failures', p.failures + (p.firstFailureRow !== null ? ` (first at row ${p.firstFailureRow})` : '')],
      ['most held at once', p.maxHeld],
      ['unpins', p.unpins],
    ]),
    kvTable(
      'violations',
      Object.entries(r.violationCounts).map(([k, n]) => [k, n]),
    ),
  ];
  if (s.smmus.length > 0) {
    out.push(
      kvTable(
        'stale IOTLB/ATC entries (hit / latent)',
        Object.entries(r.stale.counts).map(([k, v]) => [k, `${v.hit} / ${v.latent}`]),
      ),
    );
    const head = [
      'SMMU',
      'ASID bits',
      'BTM',
      'ASIDs alloc/freed/moved',
      'IOTLB hits/misses/fills',
      'ATC hits',
      'DMA faults',
      ...Object.keys(r.devices.smmus[0]?.commands ?? {}),
    ];
    const rows = r.devices.smmus.map((m) => [
      m.name,
      m.asidBits,
      m.btm ? 'yes' : 'no',
      `${m.asidsAllocated}/${m.asidsFreed}/${m.asidsMoved}`,
      `${m.hits}/${m.misses}/${m.fills}`,
      m.atcHits,
      m.faults,
      ...Object.values(m.commands),
    ]);
    out.push(
      `<table><caption>SMMUs</caption><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${rows.map((r) => `<tr>${r.map((v) => `<td>${esc(String(v))}</td>`).join('')}</tr>`).join('')}</table>`,
    );
  }
  return out.join('\n');
}

function findingsTable(runs: readonly HtmlRun[], excerpts: Map<number, Excerpt>): string {
  const parts: string[] = [];
  runs.forEach((run, ri) => {
    // a row links to its quoted line, with its source in the recording under it (traces with a src column)
    const sources = reportSources(run.report);
    const link = (row: number | undefined) => {
      if (row === undefined) return '';
      const src = sources.get(row);
      return (
        (excerpts.has(row) ? `<a href="#L${row}">${row}</a>` : String(row)) + (src ? `<br><small class="src">${esc(src)}</small>` : '')
      );
    };
    const fs = run.series.findings.map((f, i) => ({ ...f, i })).filter((f) => f.class !== 'rollover');
    if (fs.length === 0) return;
    const shown = fs.slice(0, MAX_TABLE_FINDINGS);
    // every finding counts, those the series did not keep too (the report's totals)
    const c = run.series.findingCounts;
    const total = c['pin-failure'] + c.violation + c.stale + c['device-failure'];
    parts.push(
      `<table class="findings"><caption>findings${runs.length > 1 ? ` (${esc(run.label)})` : ''}: ${total}${total > shown.length ? ` (the first ${shown.length} listed)` : ''}</caption>` +
        '<tr><th>row</th><th>class</th><th>kind</th><th>filled at</th><th>should be gone at</th><th>detail</th></tr>' +
        shown
          .map(
            (f) =>
              `<tr id="f${ri}-${f.i}" class="${f.class}"><td>${link(f.row)}</td><td>${f.class}</td><td>${esc(f.kind)}</td><td>${link(f.fillRow)}</td><td>${link(f.shouldHaveRow)}</td><td>${esc(f.detail)}</td></tr>`,
          )
          .join('') +
        '</table>',
    );
  });
  return parts.length > 0 ? parts.join('\n') : '<p>No violation, stale entry, pin failure or device failure.</p>';
}

/**
 * The page for one replay, or for several systems over one trace (compare: series overlaid).
 * @param title page title (the trace file name)
 * @param excerpts trace lines to quote (see {@link readExcerpts})
 */
export function renderHtml(title: string, runs: readonly HtmlRun[], excerpts: Map<number, Excerpt> = new Map()): string {
  const { js, css } = uplotAssets();
  const data = {
    title,
    maxPoints: MAX_POINTS,
    runs: runs.map((r) => ({
      label: r.label,
      series: r.series,
      smmus: r.report.system.smmus.map((s) => s.name),
      events: r.report.trace.events,
    })),
    excerpts: Object.fromEntries(excerpts),
  };
  const tables = runs
    .map((r) => `<section class="summary">${runs.length > 1 ? `<h3>${esc(r.label)}</h3>` : ''}${summaryTables(r.report)}</section>`)
    .join('\n');
  const quoted = [...excerpts]
    .sort((a, b) => a[0] - b[0])
    .map(([row, e]) => `<div class="line" id="L${row}"><span class="ln">${row}</span> ${esc(e.text)}</div>`)
    .join('\n');
  const first = runs[0]!;
  const bound =
    `Each series has at most ${MAX_POINTS} buckets (now ${first.series.x.length}, ${first.series.width} ${first.series.axis === 'time' ? 'ns' : 'rows'} each); ` +
    `at most ${MAX_FINDING_POINTS} findings of each class are placed on the axis and ${MAX_TABLE_FINDINGS} listed.`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>asid-replay: ${esc(title)}</title>
<style>${css}</style>
<style>
body { font: 14px system-ui, sans-serif; margin: 1em 2em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
.chart { margin: 0.5em 0 1.2em; }
.note { color: #555; font-size: 0.9em; }
table { border-collapse: collapse; margin: 0.5em 1em 1em 0; font-size: 0.9em; }
caption { text-align: left; font-weight: 600; padding: 0.2em 0; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: left; vertical-align: top; }
table.kv th { font-weight: normal; color: #444; }
section.summary { display: flex; flex-wrap: wrap; align-items: flex-start; }
section.summary h3 { width: 100%; margin: 0.5em 0 0; }
tr.violation td:nth-child(2) { color: #b00; } tr.stale td:nth-child(2) { color: #a0a; }
tr:target, div.line:target { background: #ffe88a; }
.line { font: 12px ui-monospace, monospace; white-space: pre; }
.ln { color: #888; display: inline-block; min-width: 6em; text-align: right; }
canvas.timeline { border: 1px solid #ddd; }
#tip { position: fixed; pointer-events: none; background: #fff; border: 1px solid #999; padding: 2px 4px; font-size: 12px; display: none; }
</style></head>
<body>
<h1>asid-replay: ${esc(title)}</h1>
<p>${runs.map((r) => `${esc(r.label)}: ${r.report.trace.events} events`).join('; ')}. <span class="note">${esc(bound)}</span></p>
<div id="charts"></div>
<h2>Findings</h2>
${findingsTable(runs, excerpts)}
<h2>Summary</h2>
${tables}
<h2 id="rows">Trace rows</h2>
<p class="note">The trace lines the findings name.</p>
${quoted || '<p>None.</p>'}
<div id="tip"></div>
<script>${js}</script>
<script type="application/json" id="data">${scriptJson(data)}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}

/** The page's own script (plain ES2017, no modules): builds the charts from the JSON. */
const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('data').textContent);
  var root = document.getElementById('charts');
  var PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
  var DASH = [[], [6, 3], [2, 2], [8, 3, 2, 3]];
  var width = function () { return Math.max(480, Math.min(1200, root.clientWidth || 900)); };
  var timeAxis = D.runs[0].series.axis === 'time';
  var t0 = D.runs[0].series.x.length ? D.runs[0].series.x[0] : 0;
  var xv = function (x) { return timeAxis ? (x - t0) / 1e9 : x; };
  var xlabel = timeAxis ? 'trace time (s from the first event)' : 'trace row';
  function col(s, name) { for (var i = 0; i < s.columns.length; i++) if (s.columns[i].name === name) return s.values[i]; return null; }
  function h2(text) { var e = document.createElement('h2'); e.textContent = text; root.appendChild(e); }
  function holder(title, note) {
    var d = document.createElement('div'); d.className = 'chart';
    var t = document.createElement('div'); t.innerHTML = '<b></b> <span class="note"></span>';
    t.firstChild.textContent = title; t.lastChild.textContent = note || '';
    d.appendChild(t); root.appendChild(d); return d;
  }
  // A line chart; with several runs (compare) every series is drawn once per run, dashed by run.
  function chart(title, note, lines, opts) {
    opts = opts || {};
    var el = holder(title, note);
    var runs = D.runs;
    // Union of the runs' x values (runs of one trace share the axis; bucket widths can differ).
    var xsSet = {}, xs = [];
    runs.forEach(function (r) { r.series.x.forEach(function (x) { if (!xsSet[x]) { xsSet[x] = 1; xs.push(x); } }); });
    xs.sort(function (a, b) { return a - b; });
    var data = [xs.map(xv)], series = [{ label: xlabel }];
    runs.forEach(function (r, ri) {
      var idx = {}; r.series.x.forEach(function (x, j) { idx[x] = j; });
      lines.forEach(function (ln, li) {
        var v = typeof ln.get === 'function' ? ln.get(r.series) : col(r.series, ln.col);
        if (!v) return;
        data.push(xs.map(function (x) { var j = idx[x]; return j === undefined ? null : v[j]; }));
        series.push({ label: ln.label + (runs.length > 1 ? ' (' + r.label + ')' : ''), stroke: ln.color || PALETTE[li % PALETTE.length], width: 1.5,
          dash: DASH[ri % DASH.length], scale: ln.scale || 'y', paths: ln.step ? uPlot.paths.stepped({ align: 1 }) : undefined, spanGaps: true, points: { show: false } });
      });
    });
    var axes = [{ label: xlabel }, { scale: 'y', label: opts.ylabel || '' }];
    if (opts.y2) axes.push({ scale: 'y2', side: 1, label: opts.y2, grid: { show: false } });
    var u = new uPlot({ width: width(), height: opts.height || 220, series: series, axes: axes, scales: { x: { time: false } }, legend: { live: true } }, data, el);
    return u;
  }
  function sumOf(names) { return function (s) { var cs = names.map(function (n) { return col(s, n); }); if (cs.some(function (c) { return !c; })) return null; return cs[0].map(function (_, j) { return cs.reduce(function (a, c) { return a + c[j]; }, 0); }); }; }
  var s0 = D.runs[0].series;
  var per = 'per bucket of ' + s0.width + (timeAxis ? ' ns' : ' rows');

  h2('ASIDs');
  chart('ASID allocations, re-uses and rollovers', per, [
    { col: 'allocations', label: 'fresh allocations' },
    { col: 'reused_reserved', label: 're-used: reserved' },
    { col: 'reused_pinned', label: 're-used: pinned' },
    { col: 'reused_free', label: 're-used: free' },
    { col: 'rollovers', label: 'rollovers', scale: 'y2', color: '#000' }
  ], { y2: 'rollovers' });
  chart('Generation, ASIDs in use and free ASIDs', 'allocatable slots: ' + (s0.limits.numAsids - 1) + '; at the end of each bucket: in use = held by the allocator in the generation (handed out, or kept across the rollover as reserved or pinned), free = what new_context can still hand out', [
    { col: 'generation', label: 'generation', step: true, color: '#000', scale: 'y2' },
    { col: 'asids_in_use', label: 'ASIDs in use', step: true },
    { col: 'free_asids', label: 'free ASIDs', step: true },
    { get: function (s) { return s.x.map(function () { return s.limits.numAsids - 1; }); }, label: 'allocatable', color: '#aaa' }
  ], { y2: 'generation' });
  chart('Pinned ASIDs against the limit', s0.limits.pinLimit === null ? 'no limit (max_pinned_asids underflows)' : 'max_pinned_asids = ' + s0.limits.pinLimit, [
    { col: 'pinned', label: 'pinned (end of bucket)', step: true },
    { col: 'pinned_max', label: 'most pinned in bucket', step: true },
    { get: function (s) { return s.limits.pinLimit === null ? null : s.x.map(function () { return s.limits.pinLimit; }); }, label: 'limit', color: '#d62728' },
    { col: 'pin_failures', label: 'pin failures', scale: 'y2', color: '#000' }
  ], { y2: 'failures' });
  chart('Context switches and TLB maintenance', per, [
    { col: 'switches', label: 'switch_mm' },
    { col: 'slow_path', label: 'slow path' },
    { col: 'local_tlb_flushes', label: 'local TLB flushes' },
    { col: 'tlbi_asid', label: 'TLBI ASID' },
    { col: 'tlbi_va', label: 'TLBI VA' }
  ]);

  // Per-CPU timeline: the mm running at the end of each bucket, one colour per mm.
  D.runs.forEach(function (r) {
    var s = r.series;
    var cpuCols = s.columns.map(function (c, i) { return c.cpu === undefined ? -1 : i; }).filter(function (i) { return i >= 0; });
    if (!cpuCols.length || !s.x.length) return;
    h2('Which mm runs on each CPU' + (D.runs.length > 1 ? ' (' + r.label + ')' : ''));
    var el = holder('mm at the end of each bucket (white: idle)', 'hover for the mm');
    var W = width(), rowH = 18, left = 60, H = cpuCols.length * rowH + 24;
    var cv = document.createElement('canvas'); cv.className = 'timeline';
    var dpr = window.devicePixelRatio || 1;
    cv.width = W * dpr; cv.height = H * dpr; cv.style.width = W + 'px'; cv.style.height = H + 'px';
    el.appendChild(cv);
    var g = cv.getContext('2d'); g.scale(dpr, dpr);
    g.fillStyle = '#fff'; g.fillRect(0, 0, W, H);
    var n = s.x.length, bw = (W - left) / n;
    var colour = function (m) { return 'hsl(' + ((m * 137.508) % 360) + ',60%,' + (45 + (m % 3) * 10) + '%)'; };
    cpuCols.forEach(function (ci, row) {
      g.fillStyle = '#222'; g.font = '12px sans-serif'; g.fillText('CPU ' + s.columns[ci].cpu, 4, row * rowH + 13);
      var v = s.values[ci];
      for (var j = 0; j < n; j++) { if (v[j] < 0) continue; g.fillStyle = colour(v[j]); g.fillRect(left + j * bw, row * rowH + 2, Math.max(1, bw), rowH - 4); }
    });
    g.fillStyle = '#555'; g.fillText(String(xv(s.x[0]).toFixed(timeAxis ? 3 : 0)), left, H - 6);
    var end = xv(s.x[n - 1]); g.fillText(String(end.toFixed(timeAxis ? 3 : 0)), W - 60, H - 6);
    var tip = document.getElementById('tip');
    cv.addEventListener('mousemove', function (ev) {
      var b = cv.getBoundingClientRect(), x = ev.clientX - b.left, y = ev.clientY - b.top;
      var j = Math.floor((x - left) / bw), row = Math.floor(y / rowH);
      if (j < 0 || j >= n || row < 0 || row >= cpuCols.length) { tip.style.display = 'none'; return; }
      var m = s.values[cpuCols[row]][j];
      tip.textContent = 'CPU ' + s.columns[cpuCols[row]].cpu + ' @ ' + xv(s.x[j]) + ': ' + (m < 0 ? 'idle' : (s.mms[m] || 'other'));
      tip.style.left = (ev.clientX + 12) + 'px'; tip.style.top = (ev.clientY + 12) + 'px'; tip.style.display = 'block';
    });
    cv.addEventListener('mouseleave', function () { tip.style.display = 'none'; });
  });

  // Devices.
  var smmus = D.runs[0].smmus;
  if (smmus.length) h2('SMMUs');
  smmus.forEach(function (name) {
    chart('SMMU ' + name + ': IOTLB and ATC', per, [
      { col: name + '.iotlb_hits', label: 'IOTLB hits' },
      { col: name + '.iotlb_misses', label: 'IOTLB misses' },
      { col: name + '.iotlb_fills', label: 'IOTLB fills' },
      { col: name + '.atc_hits', label: 'ATC hits' },
      { col: name + '.dma_faults', label: 'DMA faults' },
      { col: name + '.iotlb_entries', label: 'IOTLB occupancy (entries)', step: true }
    ]);
    chart('SMMU ' + name + ': ASIDs', per, [
      { col: name + '.asids_allocated', label: 'allocated' },
      { col: name + '.asids_freed', label: 'freed' },
      { col: name + '.asids_moved', label: 'moved (arm_smmu_share_asid)' }
    ]);
    var ops = s0.columns.filter(function (c) { return c.smmu === name && c.name.indexOf(name + '.CMD_') === 0; });
    chart('SMMU ' + name + ': commands by opcode', per, ops.map(function (c) { return { col: c.name, label: c.name.slice(name.length + 1) }; }));
  });

  // Findings on the time axis: one row per class; a click opens the finding in the table.
  var CLASSES = ['rollover', 'pin-failure', 'device-failure', 'violation', 'stale', 'fill', 'should-have'];
  h2('Findings over the trace');
  D.runs.forEach(function (r, ri) {
    var fs = r.series.findings;
    var el = holder('Findings' + (D.runs.length > 1 ? ' (' + r.label + ')' : ''), 'rows: rollovers, pin failures, device failures, violations, stale entries; then where each stale entry was filled and where it should have gone; click a point for its row');
    var pts = [];
    fs.forEach(function (f, i) {
      pts.push({ x: f.x, c: CLASSES.indexOf(f.class), i: i });
      [['fill', f.fillRow], ['should-have', f.shouldHaveRow]].forEach(function (p) {
        if (p[1] === undefined || p[1] === null) return;
        var e = D.excerpts[p[1]];
        var x = timeAxis ? (e && e.time !== undefined ? e.time : null) : p[1];
        if (x !== null) pts.push({ x: x, c: CLASSES.indexOf(p[0]), i: i });
      });
    });
    pts.sort(function (a, b) { return a.x - b.x; });
    var xs = pts.map(function (p) { return xv(p.x); });
    var data = [xs], series = [{ label: xlabel }];
    CLASSES.forEach(function (c, ci) {
      data.push(pts.map(function (p) { return p.c === ci ? ci + 1 : null; }));
      series.push({ label: c, stroke: PALETTE[ci], paths: function () { return null; }, points: { show: true, size: 7, fill: PALETTE[ci] } });
    });
    if (!pts.length) { data = [[xv(s0.x[0] || 0)], ]; CLASSES.forEach(function () { data.push([null]); }); }
    var u = new uPlot({ width: width(), height: 200, series: series, scales: { x: { time: false }, y: { range: [0, CLASSES.length + 1] } },
      axes: [{ label: xlabel }, { splits: function () { return CLASSES.map(function (_, i) { return i + 1; }); }, values: function (u, vals) { return vals.map(function (v) { return CLASSES[v - 1] || ''; }); }, size: 90 }], legend: { live: true } }, data, el);
    u.over.addEventListener('click', function () {
      var j = u.cursor.idx; if (j === null || j === undefined || !pts[j]) return;
      var f = fs[pts[j].i]; var target = document.getElementById('f' + ri + '-' + pts[j].i) || document.getElementById('L' + f.row);
      if (target) { location.hash = target.id; }
    });
  });
  window.__chartsDrawn = true;
})();
`;
