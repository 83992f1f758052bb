/**
 * `check --reporter github`: GitHub Actions workflow commands (`::error file=<trace>,line=<row>::<message>`)
 * for every failing trace (a report that differs, a missing expectation, a trace that cannot be
 * replayed, an obsolete expectation) and every finding `--fail-on` selects, so that a pull request
 * shows each one on the trace line it names (docs/ci.md).
 */
import type { CheckResult } from './check-one.js';
import type { FailOnKind } from '../report/findings.js';
import type { Report } from '../report/report.js';

/** Most finding annotations per trace (GitHub shows 10 error annotations per step, 50 per job). */
export const MAX_FINDING_ANNOTATIONS = 10;

/** A workflow command's message: `%`, CR and LF escaped. */
const escapeData = (s: string): string => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
/** A workflow command's property value: also `:` and `,`. */
const escapeProperty = (s: string): string => escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

/** One `::error` line. */
export function annotation(file: string, line: number | undefined, message: string, column?: number): string {
  const props = [`file=${escapeProperty(file)}`];
  if (line !== undefined) props.push(`line=${line}`);
  if (line !== undefined && column !== undefined) props.push(`col=${column}`);
  return `::error ${props.join(',')}::${escapeData(message)}\n`;
}

/** A finding of a report: its row, the `--fail-on` kind that selects it and what to say. */
interface Finding {
  row: number;
  kind: FailOnKind;
  text: string;
}

const at = (row: number, src: string | undefined) => `row ${row}${src ? ` (${src} in the recording)` : ''}`;

/** The findings of `r` that `failOn` selects, in trace order within each class. */
function selectedFindings(r: Report, failOn: readonly FailOnKind[]): Finding[] {
  const sel = new Set<string>(failOn);
  const out: Finding[] = [];
  for (const v of r.violations) {
    const kind = sel.has(v.kind) ? v.kind : sel.has('violations') ? 'violations' : undefined;
    if (kind) out.push({ row: v.row, kind, text: `invariant ${v.kind} violated at ${at(v.row, v.src)}: ${v.detail}` });
  }
  if (sel.has('pin-failures') && r.pins.firstFailureRow !== null) {
    out.push({
      row: r.pins.firstFailureRow,
      kind: 'pin-failures',
      text: `${r.pins.failures} pin(s) refused (limit ${r.pins.limit ?? 'none'}), the first at ${at(r.pins.firstFailureRow, r.pins.firstFailureSrc)}`,
    });
  }
  for (const f of r.stale.findings) {
    const kind = sel.has(f.kind) ? f.kind : sel.has('stale') ? 'stale' : undefined;
    if (kind)
      out.push({
        row: f.row,
        kind,
        text: `stale ${f.cache.toUpperCase()} entry ${f.kind}${f.latent ? ' (latent)' : ''} at ${at(f.row, f.src)}: ${f.detail}`,
      });
  }
  if (sel.has('device-failures')) {
    for (const f of r.devices.failures)
      out.push({ row: f.row, kind: 'device-failures', text: `${f.call} failed with -${f.errno} at ${at(f.row, f.src)}: ${f.detail}` });
  }
  return out;
}

/**
 * The annotations of a `check` run: one per failing trace, one per selected finding (at most
 * {@link MAX_FINDING_ANNOTATIONS} per trace, then one that counts the rest), one per obsolete expectation.
 */
export function githubAnnotations(
  results: readonly CheckResult[],
  obsolete: readonly string[],
  failOn: readonly FailOnKind[] | undefined,
  update = false,
): string {
  let out = '';
  for (const r of results) {
    if (r.status === 'error') out += annotation(r.trace, r.line ?? 1, r.message ?? 'cannot be replayed', r.column);
    if (r.status === 'differs' && !update)
      out += annotation(
        r.trace,
        1,
        `the report differs from ${r.expectation} (asid-replay check ${r.trace} shows the changed figures; --update accepts them)`,
      );
    if (r.status === 'missing' && !update)
      out += annotation(r.trace, 1, `no stored expectation ${r.expectation} (asid-replay check ${r.trace} --update creates it)`);
    if (failOn && r.findings.length > 0 && r.actual !== undefined) {
      const found = selectedFindings(JSON.parse(r.actual) as Report, failOn);
      for (const f of found.slice(0, MAX_FINDING_ANNOTATIONS)) out += annotation(r.trace, f.row, `${f.text} (--fail-on ${f.kind})`);
      if (found.length > MAX_FINDING_ANNOTATIONS)
        out += annotation(
          r.trace,
          found[MAX_FINDING_ANNOTATIONS]!.row,
          `${found.length - MAX_FINDING_ANNOTATIONS} more findings selected by --fail-on ${r.findings.join(',')} (asid-replay replay ${r.trace} lists them)`,
        );
      // Findings the report's lists do not hold (past their first 10000): still one annotation per trace.
      if (found.length === 0) out += annotation(r.trace, 1, `findings of ${r.findings.join(', ')} (--fail-on)`);
    }
  }
  for (const x of obsolete)
    if (!update) out += annotation(x, undefined, 'obsolete expectation: its trace is gone (asid-replay check --update removes it)');
  return out;
}
