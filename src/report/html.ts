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
import { eraFacts } from './era-facts.js';
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
      ['allocator', `${r.allocator.variant}: ${eraFacts(s).allocatorSource}`],
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

/** A VA as the kernel prints it. */
const hex = (v: number | undefined): string => (v === undefined ? '' : `0x${v.toString(16)}`);

function findingsTable(runs: readonly HtmlRun[], excerpts: Map<number, Excerpt>): string {
  const parts: string[] = [];
  runs.forEach((run, ri) => {
    // a row links to its quoted line; its source in the recording has a column (traces with a src column)
    const sources = reportSources(run.report);
    const link = (row: number | undefined) => {
      if (row === undefined) return '';
      return excerpts.has(row) ? `<a href="#L${row}">${row}</a>` : String(row);
    };
    const fs = run.series.findings.map((f, i) => ({ ...f, i })).filter((f) => f.class !== 'rollover');
    if (fs.length === 0) return;
    const shown = fs.slice(0, MAX_TABLE_FINDINGS);
    // every finding counts, those the series did not keep too (the report's totals)
    const c = run.series.findingCounts;
    const total = c['pin-failure'] + c.violation + c.stale + c['device-failure'];
    const cell = (v: string | number | undefined) => `<td>${v === undefined ? '' : esc(String(v))}</td>`;
    parts.push(
      `<table class="findings"><caption>findings${runs.length > 1 ? ` (${esc(run.label)})` : ''}: ${total}${total > shown.length ? ` (the first ${shown.length} listed)` : ''}</caption>` +
        '<thead><tr><th>SMMU</th><th>device</th><th>SSID/PASID</th><th>ASID</th><th>VA</th><th>kind</th><th>row</th><th>source</th></tr></thead><tbody>' +
        shown
          .map((f) => {
            const rows = [
              f.fillRow !== undefined ? `filled at ${link(f.fillRow)}` : '',
              f.shouldHaveRow !== undefined ? `should be gone at ${link(f.shouldHaveRow)}` : '',
            ].filter(Boolean);
            const kind = `<span class="class">${f.class}</span> ${esc(f.kind)}${f.mm ? ` <small>${esc(f.mm)}</small>` : ''}${rows.length ? `<br><small>${rows.join('; ')}</small>` : ''}`;
            return (
              `<tr id="f${ri}-${f.i}" class="${f.class}" title="${esc(f.detail)}">` +
              cell(f.smmu) +
              cell(f.device) +
              cell(f.pasid) +
              cell(f.asid) +
              cell(hex(f.va)) +
              `<td>${kind}</td><td>${link(f.row)}</td>` +
              `<td>${sources.has(f.row) ? `<small class="src">${esc(sources.get(f.row)!)}</small>` : ''}</td>` +
              '</tr>'
            );
          })
          .join('') +
        '</tbody></table>',
    );
  });
  return parts.length > 0 ? parts.join('\n') : '<p>No violation, stale entry, pin failure or device failure.</p>';
}

/** Colours of the systems of a comparison: distinct, the first ten from a qualitative palette. */
const RUN_COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];
export const runColour = (i: number): string => RUN_COLOURS[i] ?? `hsl(${Math.round((i * 137.508) % 360)},65%,40%)`;

/** What each run is: kernel, SMMU driver design, injected faults, at the top of the page. */
function setupSection(runs: readonly HtmlRun[]): string {
  const items = runs.map((r, i) => {
    const s = r.report.system;
    const faults = s.faults ?? [];
    const parts = [
      `kernel ${esc(s.kernel)} (${esc(s.era)})`,
      `${s.cpus} CPUs, ${s.asidBits}-bit ASIDs${s.kpti ? ', KPTI' : ''}`,
      ...(s.smmus.length > 0 ? [`SMMU driver design ${esc(s.driver)}`] : []),
      faults.length > 0 ? `<b class="fault">injected faults: ${faults.map(esc).join(', ')}</b>` : 'no injected fault',
    ];
    return `<li class="system" data-colour="${runColour(i)}"><span class="swatch" style="background:${runColour(i)}"></span><b>${esc(r.label)}</b>: ${parts.join('; ')}</li>`;
  });
  const faults = [...new Set(runs.flatMap((r) => r.report.system.faults ?? []))];
  const banner =
    faults.length > 0
      ? `<p class="faults" id="faults">Injected faults: <b>${faults.map(esc).join(', ')}</b> (a hypothetical bug: the findings are those of the faulty system)</p>`
      : '';
  return `${banner}<ul class="systems">${items.join('')}</ul>`;
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
    runs: runs.map((r, i) => ({
      label: r.label,
      colour: runColour(i),
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
tr.violation .class { color: #b00; } tr.stale .class { color: #a0a; } tr.device-failure .class { color: #a50; } tr.pin-failure .class { color: #06a; }
.class { font-weight: 600; white-space: nowrap; }
p.faults { background: #fff3cd; border: 1px solid #e0c060; padding: 4px 8px; display: inline-block; }
ul.systems { list-style: none; padding: 0; margin: 0.3em 0; } ul.systems li { margin: 2px 0; }
.swatch { display: inline-block; width: 1.6em; height: 0.8em; margin-right: 0.4em; vertical-align: middle; border-radius: 2px; }
.mm-legend { font-size: 12px; margin: 4px 0; display: flex; flex-wrap: wrap; gap: 2px 12px; }
.mm-legend span.mm { white-space: nowrap; }
tr:target, div.line:target { background: #ffe88a; }
.line { font: 12px ui-monospace, monospace; white-space: pre; }
.ln { color: #888; display: inline-block; min-width: 6em; text-align: right; }
canvas.timeline { border: 1px solid #ddd; }
#tip { position: fixed; pointer-events: none; background: #fff; border: 1px solid #999; padding: 2px 4px; font-size: 12px; display: none; }
</style></head>
<body>
<h1>asid-replay: ${esc(title)}</h1>
${setupSection(runs)}
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
  var DASH = [[], [6, 3], [2, 2], [8, 3, 2, 3], [12, 4], [1, 4]];
  var FONT = '12px system-ui, sans-serif';
  var LABEL_FONT = 'bold 12px system-ui, sans-serif';
  var INT_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7, 2e7, 5e7, 1e8, 2e8, 5e8, 1e9, 2e9, 5e9, 1e10, 2e10, 5e10, 1e11, 2e11, 5e11, 1e12];
  var multi = D.runs.length > 1;
  var width = function () { return Math.max(480, Math.min(1200, root.clientWidth || 900)); };
  var timeAxis = D.runs[0].series.axis === 'time';
  // One time axis for every chart: from the first bucket of any run to the end of the last one.
  var X0 = Infinity, X1 = -Infinity;
  D.runs.forEach(function (r) { var x = r.series.x; if (x.length) { X0 = Math.min(X0, x[0]); X1 = Math.max(X1, x[x.length - 1] + r.series.width); } });
  if (!isFinite(X0)) { X0 = 0; X1 = 1; }
  var t0 = X0;
  // The time unit that suits the trace's length: s, ms, µs or ns from the first event.
  var span = X1 - X0, UNIT = span >= 1e9 ? [1e9, 's'] : span >= 1e6 ? [1e6, 'ms'] : span >= 1e3 ? [1e3, 'µs'] : [1, 'ns'];
  var xv = function (x) { return timeAxis ? (x - t0) / UNIT[0] : x; };
  var XR = [xv(X0), xv(X1)];
  if (XR[1] <= XR[0]) XR[1] = XR[0] + 1;
  var xlabel = timeAxis ? 'trace time (' + UNIT[1] + ' from the first event)' : 'trace row';
  // Tick labels with as many decimals as the step needs, so that no two labels read the same.
  function decimals(incr) { var d = 0; while (d < 12 && Math.abs(incr * Math.pow(10, d) - Math.round(incr * Math.pow(10, d))) > 1e-6) d++; return d; }
  function ticks(u, splits, ai, space, incr) { var d = decimals(incr); return splits.map(function (v) { return v.toFixed(d); }); }
  var measure = document.createElement('canvas').getContext('2d');
  function textWidth(t, font) { measure.font = font || FONT; return measure.measureText(t).width; }
  // Every chart has the same plotting area (one time axis): y axes on both sides, as wide as the widest
  // label of any chart needs (the findings classes, seven-digit counts), wider only when a label needs it.
  var Y_MIN = Math.ceil(Math.max(textWidth('device-failure'), textWidth('10000000'))) + 22;
  function ySize(u, values) { var w = 0; (values || []).forEach(function (v) { w = Math.max(w, textWidth(String(v))); }); return Math.max(Y_MIN, Math.ceil(w) + 22); }
  function xAxis() { return { label: xlabel, font: FONT, labelFont: LABEL_FONT, values: ticks, incrs: timeAxis ? undefined : INT_INCRS, space: 70 }; }
  function yAxis(label, scale, side) { return { scale: scale || 'y', side: side === undefined ? 3 : side, label: label, font: FONT, labelFont: LABEL_FONT, values: ticks, incrs: INT_INCRS, size: ySize, grid: { show: side !== 1 } }; }
  var plots = window.__plots = [];
  var later = [];
  function blankRight() { return { scale: 'y', side: 1, values: function () { return []; }, size: ySize, grid: { show: false }, ticks: { show: false }, label: '', font: FONT }; }
  var xScale = { time: false, range: function () { return XR.slice(); } };
  var cursor = { sync: { key: 'x' }, drag: { x: false, y: false } };
  function col(s, name) { for (var i = 0; i < s.columns.length; i++) if (s.columns[i].name === name) return s.values[i]; return null; }
  function h2(text) { var e = document.createElement('h2'); e.textContent = text; root.appendChild(e); }
  function holder(title, note) {
    var d = document.createElement('div'); d.className = 'chart';
    var t = document.createElement('div'); t.innerHTML = '<b></b> <span class="note"></span>';
    t.firstChild.textContent = title; t.lastChild.textContent = note || '';
    d.appendChild(t); root.appendChild(d); return d;
  }
  // A line chart. With several runs (compare) every series is drawn once per run: the run's colour, a dash per series.
  function chart(title, note, lines, opts) {
    opts = opts || {};
    var el = holder(title, note);
    var runs = D.runs;
    // Union of the runs' x values (runs of one trace share the axis; bucket widths can differ).
    var xsSet = {}, xs = [];
    runs.forEach(function (r) { r.series.x.forEach(function (x) { if (!xsSet[x]) { xsSet[x] = 1; xs.push(x); } }); });
    xs.sort(function (a, b) { return a - b; });
    var data = [xs.map(xv)], series = [{ label: xlabel, value: function (u, v) { return v === null || v === undefined ? '' : String(v); } }];
    runs.forEach(function (r, ri) {
      var idx = {}; r.series.x.forEach(function (x, j) { idx[x] = j; });
      lines.forEach(function (ln, li) {
        var v = typeof ln.get === 'function' ? ln.get(r.series) : col(r.series, ln.col);
        if (!v) return;
        data.push(xs.map(function (x) { var j = idx[x]; return j === undefined ? null : v[j]; }));
        series.push({ label: ln.label + (multi ? ' (' + r.label + ')' : ''), stroke: multi ? r.colour : (ln.color || PALETTE[li % PALETTE.length]), width: 1.5,
          dash: multi ? DASH[li % DASH.length] : [], scale: ln.scale || 'y', paths: ln.step ? uPlot.paths.stepped({ align: 1 }) : undefined, spanGaps: true, points: { show: false } });
      });
    });
    var axes = [xAxis(), yAxis(opts.ylabel || 'count / bucket'), opts.y2 ? yAxis(opts.y2, 'y2', 1) : blankRight()];
    var u = new uPlot({ width: width(), height: opts.height || 240, series: series, axes: axes, scales: { x: xScale }, cursor: cursor, legend: { live: true } }, data, el);
    plots.push({ title: title, u: u });
    return u;
  }
  var s0 = D.runs[0].series;
  var per = 'per bucket of ' + s0.width + (timeAxis ? ' ns' : ' rows');

  h2('ASIDs');
  chart('ASID allocations, re-uses and rollovers', per, [
    { col: 'allocations', label: 'fresh allocations' },
    { col: 'reused_reserved', label: 're-used: reserved' },
    { col: 'reused_pinned', label: 're-used: pinned' },
    { col: 'reused_free', label: 're-used: free' },
    { col: 'rollovers', label: 'rollovers', scale: 'y2', color: '#000' }
  ], { ylabel: 'ASIDs / bucket', y2: 'rollovers / bucket' });
  chart('Generation, ASIDs in use and free ASIDs', 'allocatable slots: ' + (s0.limits.numAsids - 1) + '; at the end of each bucket: in use = held by the allocator in the generation (handed out, or kept across the rollover as reserved or pinned), free = what new_context can still hand out', [
    { col: 'generation', label: 'generation', step: true, color: '#000', scale: 'y2' },
    { col: 'asids_in_use', label: 'ASIDs in use', step: true },
    { col: 'free_asids', label: 'free ASIDs', step: true },
    { get: function (s) { return s.x.map(function () { return s.limits.numAsids - 1; }); }, label: 'allocatable', color: '#aaa' }
  ], { ylabel: 'ASIDs', y2: 'generation' });
  chart('Pinned ASIDs against the limit', s0.limits.pinLimit === null ? 'no limit (max_pinned_asids underflows)' : 'max_pinned_asids = ' + s0.limits.pinLimit, [
    { col: 'pinned', label: 'pinned (end of bucket)', step: true },
    { col: 'pinned_max', label: 'most pinned in bucket', step: true },
    { get: function (s) { return s.limits.pinLimit === null ? null : s.x.map(function () { return s.limits.pinLimit; }); }, label: 'limit', color: '#d62728' },
    { col: 'pin_failures', label: 'pin failures', scale: 'y2', color: '#000' }
  ], { ylabel: 'pinned ASIDs', y2: 'failures / bucket' });
  chart('Context switches and TLB maintenance', per, [
    { col: 'switches', label: 'switch_mm' },
    { col: 'slow_path', label: 'slow path' },
    { col: 'local_tlb_flushes', label: 'local TLB flushes' },
    { col: 'tlbi_asid', label: 'TLBI ASID' },
    { col: 'tlbi_va', label: 'TLBI VA' }
  ], { ylabel: 'calls / bucket' });

  // The plotting area of the charts, for the canvases drawn by hand (the same time axis).
  var ref = plots[0].u;
  var pr = uPlot.pxRatio || window.devicePixelRatio || 1;
  function plotArea() { return { left: ref.bbox.left / pr, width: ref.bbox.width / pr }; }
  function px(area, v) { return area.left + (v - XR[0]) / (XR[1] - XR[0]) * area.width; }
  function drawXAxis(g, area, y) {
    var splits = ref.axes[0]._splits || [], vals = ref.axes[0]._values || [];
    g.fillStyle = '#222'; g.strokeStyle = '#999'; g.font = FONT; g.textAlign = 'center';
    splits.forEach(function (v, i) { var x = px(area, v); g.beginPath(); g.moveTo(x, y); g.lineTo(x, y + 4); g.stroke(); g.fillText(String(vals[i]), x, y + 16); });
    g.textAlign = 'start';
  }

  // Per-CPU timeline: the mm running at the end of each bucket; a colour for each of the busiest mms, grey for the others.
  var MM_COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#393b79', '#637939', '#8c6d31', '#843c39', '#7b4173', '#3182bd', '#e6550d'];
  var OTHER = '#c8c8c8';
  D.runs.forEach(function (r) {
    var s = r.series;
    var cpuCols = s.columns.map(function (c, i) { return c.cpu === undefined ? -1 : i; }).filter(function (i) { return i >= 0; });
    if (!cpuCols.length || !s.x.length) return;
    h2('Which mm runs on each CPU' + (multi ? ' (' + r.label + ')' : ''));
    var el = holder('mm at the end of each bucket (white: idle)', 'a colour for each of the ' + MM_COLOURS.length + ' busiest mms, grey for the others; hover for the mm');
    // activity: buckets an mm runs in, over every CPU
    var act = {};
    cpuCols.forEach(function (ci) { s.values[ci].forEach(function (m) { if (m >= 0) act[m] = (act[m] || 0) + 1; }); });
    var ranked = Object.keys(act).map(Number).sort(function (a, b) { return act[b] - act[a] || a - b; });
    var colourOf = {};
    ranked.slice(0, MM_COLOURS.length).forEach(function (m, i) { if (s.mms[m] !== 'other') colourOf[m] = MM_COLOURS[i]; });
    var colour = function (m) { return colourOf[m] || OTHER; };
    var legend = document.createElement('div'); legend.className = 'mm-legend';
    ranked.filter(function (m) { return colourOf[m]; }).forEach(function (m) {
      var e = document.createElement('span'); e.className = 'mm'; e.setAttribute('data-colour', colourOf[m]);
      e.innerHTML = '<span class="swatch"></span>'; e.firstChild.style.background = colourOf[m];
      e.appendChild(document.createTextNode(s.mms[m] || String(m))); legend.appendChild(e);
    });
    var others = ranked.length - Object.keys(colourOf).length;
    if (others > 0) { var o = document.createElement('span'); o.className = 'mm other'; o.setAttribute('data-colour', OTHER); o.innerHTML = '<span class="swatch" style="background:' + OTHER + '"></span>'; o.appendChild(document.createTextNode('other (' + others + ' mms)')); legend.appendChild(o); }
    el.appendChild(legend);
    var area = plotArea();
    var W = width(), rowH = 18, H = cpuCols.length * rowH + 44;
    var cv = document.createElement('canvas'); cv.className = 'timeline';
    var dpr = window.devicePixelRatio || 1;
    cv.width = W * dpr; cv.height = H * dpr; cv.style.width = W + 'px'; cv.style.height = H + 'px';
    el.appendChild(cv);
    var g = cv.getContext('2d'); g.scale(dpr, dpr);
    g.fillStyle = '#fff'; g.fillRect(0, 0, W, H);
    var n = s.x.length;
    cpuCols.forEach(function (ci, row) {
      g.fillStyle = '#222'; g.font = FONT; g.textAlign = 'right'; g.fillText('CPU ' + s.columns[ci].cpu, area.left - 6, row * rowH + 13); g.textAlign = 'start';
      var v = s.values[ci];
      for (var j = 0; j < n; j++) {
        if (v[j] < 0) continue;
        var a = px(area, xv(s.x[j])), b = px(area, xv(s.x[j] + s.width));
        g.fillStyle = colour(v[j]); g.fillRect(a, row * rowH + 2, Math.max(1, b - a), rowH - 4);
      }
    });
    later.push(function () { drawXAxis(g, area, cpuCols.length * rowH + 4); }); // once the charts have their ticks
    g.font = LABEL_FONT; g.textAlign = 'center'; g.fillText(xlabel, area.left + area.width / 2, H - 4); g.textAlign = 'start';
    var tip = document.getElementById('tip');
    cv.addEventListener('mousemove', function (ev) {
      var bx = cv.getBoundingClientRect(), x = ev.clientX - bx.left, y = ev.clientY - bx.top;
      var at = XR[0] + (x - area.left) / area.width * (XR[1] - XR[0]);
      var j = -1; for (var k = 0; k < n; k++) if (xv(s.x[k]) <= at) j = k;
      var row = Math.floor(y / rowH);
      if (x < area.left || j < 0 || row < 0 || row >= cpuCols.length) { tip.style.display = 'none'; return; }
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
    ], { ylabel: 'lookups, entries' });
    chart('SMMU ' + name + ': ASIDs', per, [
      { col: name + '.asids_allocated', label: 'allocated' },
      { col: name + '.asids_freed', label: 'freed' },
      { col: name + '.asids_moved', label: 'moved (arm_smmu_share_asid)' }
    ], { ylabel: 'ASIDs / bucket' });
    var ops = s0.columns.filter(function (c) { return c.smmu === name && c.name.indexOf(name + '.CMD_') === 0; });
    chart('SMMU ' + name + ': commands by opcode', per, ops.map(function (c) { return { col: c.name, label: c.name.slice(name.length + 1) }; }), { ylabel: 'cmds / bucket' });
  });

  // Findings on the same time axis: one row per class; a click opens the finding in the table.
  var CLASSES = ['rollover', 'pin-failure', 'device-failure', 'violation', 'stale', 'fill', 'should-have'];
  h2('Findings over the trace');
  D.runs.forEach(function (r, ri) {
    var fs = r.series.findings;
    var el = holder('Findings' + (multi ? ' (' + r.label + ')' : ''), 'rows: rollovers, pin failures, device failures, violations, stale entries; then where each stale entry was filled and where it should have gone; click a point for its row');
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
    var data = [pts.map(function (p) { return xv(p.x); })], series = [{ label: xlabel }];
    CLASSES.forEach(function (c, ci) {
      data.push(pts.map(function (p) { return p.c === ci ? ci + 1 : null; }));
      series.push({ label: c, stroke: PALETTE[ci], paths: function () { return null; }, points: { show: true, size: 7, fill: PALETTE[ci] } });
    });
    if (!pts.length) { data = [[XR[0]]]; CLASSES.forEach(function () { data.push([null]); }); }
    var yA = yAxis('finding class');
    yA.splits = function () { return CLASSES.map(function (_, i) { return i + 1; }); };
    yA.values = function (u, vals) { return vals.map(function (v) { return CLASSES[v - 1] || ''; }); };
    var u = new uPlot({ width: width(), height: 240, series: series, scales: { x: xScale, y: { range: [0, CLASSES.length + 1] } }, cursor: cursor,
      axes: [xAxis(), yA, blankRight()], legend: { live: true } }, data, el);
    plots.push({ title: 'Findings' + (multi ? ' (' + r.label + ')' : ''), u: u });
    u.over.addEventListener('click', function () {
      var j = u.cursor.idx; if (j === null || j === undefined || !pts[j]) return;
      var f = fs[pts[j].i]; var target = document.getElementById('f' + ri + '-' + pts[j].i) || document.getElementById('L' + f.row);
      if (target) { location.hash = target.id; }
    });
  });
  window.__axisFont = FONT;
  setTimeout(function () { later.forEach(function (f) { f(); }); window.__chartsDrawn = true; }, 0);
})();
`;
