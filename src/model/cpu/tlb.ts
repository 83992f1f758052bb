/**
 * Per-CPU TLBs tagged by ASID, as the kernel-tla `asidalloc` model keeps them:
 * an entry is (cpu, asid, mm, page) and remembers the trace row that filled it.
 *
 * `page` is a 4 KiB virtual page number, or {@link SPECULATIVE} for the walk the CPU may perform as
 * soon as TTBR0 is written (`cpu_switch_mm`), the TLA model's one-page-per-task abstraction.
 * Maintenance mirrors arm64 `tlbflush.h`: `local_flush_tlb_all` (TLBI VMALLE1, this CPU only),
 * `flush_tlb_mm` (TLBI ASIDE1IS, every CPU) and `__flush_tlb_range` (TLBI VAE1IS per page, every CPU).
 *
 * Layout (why): almost every fill is the speculative entry of the one mm that owns an ASID on a
 * CPU, so a CPU's TLB is a Map asid -> {@link TlbSet} holding that row inline; a page Map exists
 * only once a real page is filled, and a second mm under the same ASID (the alias hazard the checks
 * look for) chains another set behind the first. A set with no entries is unlinked at once.
 */

import { copyMap } from '../copy-map.js';

/** Page number of the speculative, not-page-specific entry filled at `cpu_switch_mm`. */
export const SPECULATIVE = -1;

/** The entries of one mm under one ASID on one CPU. */
export interface TlbSet {
  mm: number;
  /** Row that filled the speculative entry, or -1 when there is none. */
  spec: number;
  /** page -> row that filled it (null until the first real page). */
  pages: Map<number, number> | null;
  /** Another mm's entries under the same ASID (normally null). */
  next: TlbSet | null;
}

/** One CPU's TLB: asid -> the sets of entries under it. */
export type CpuTlb = Map<number, TlbSet>;

export interface TlbState {
  cpus: CpuTlb[];
  /** Entries per CPU (for the capacity bound). */
  counts: number[];
}

/** Capacity per CPU; when exceeded the CPU's TLB is emptied (a conservative eviction, as QEMU's IOTLB does). */
export const TLB_CAPACITY = 16384;

export function createTlb(cpus: number): TlbState {
  return { cpus: Array.from({ length: cpus }, () => new Map()), counts: new Array(cpus).fill(0) };
}

function cloneSet(x: TlbSet | null): TlbSet | null {
  return x && { mm: x.mm, spec: x.spec, pages: x.pages && copyMap(x.pages), next: cloneSet(x.next) };
}

export function cloneTlb(t: TlbState): TlbState {
  const cpus: CpuTlb[] = [];
  for (const m of t.cpus) {
    const c: CpuTlb = new Map();
    m.forEach((x, a) => c.set(a, cloneSet(x)!));
    cpus.push(c);
  }
  return { cpus, counts: t.counts.slice() };
}

/** Entries of a set, page -> row, speculative entry included (for digests and reports). */
function setEntries(x: TlbSet): [number, number][] {
  const out: [number, number][] = x.spec >= 0 ? [[SPECULATIVE, x.spec]] : [];
  if (x.pages) out.push(...[...x.pages].sort((a, b) => a[0] - b[0]));
  return out;
}

/**
 * A canonical form of one CPU's TLB (sorted by ASID, mm and page), independent of fill order:
 * `[asid, [[mm, [[page, row], ...]], ...]][]`.
 */
export function tlbCanonical(t: TlbState, cpu: number): unknown {
  const out: [number, [number, [number, number][]][]][] = [];
  for (const [asid, first] of t.cpus[cpu]!) {
    const sets: [number, [number, number][]][] = [];
    for (let x: TlbSet | null = first; x; x = x.next) sets.push([x.mm, setEntries(x)]);
    out.push([asid, sets.sort((a, b) => a[0] - b[0])]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}

/**
 * Insert (asid, mm, page) into `cpu`'s TLB (an entry already there keeps its fill row).
 * @returns the key of another mm that already has entries under `asid` on this CPU (the TLA
 * `UniqueASIDPerCPU` hazard: the running mm can use them), or -1.
 */
export function tlbFill(t: TlbState, cpu: number, asid: number, mm: number, page: number, row: number): number {
  const tlb = t.cpus[cpu];
  const first = tlb!.get(asid);
  let mine: TlbSet | null = null;
  let other = -1;
  for (let x = first ?? null; x; x = x.next) {
    if (x.mm === mm) mine = x;
    else if (other < 0) other = x.mm;
  }
  const present = mine !== null && (page === SPECULATIVE ? mine.spec >= 0 : mine.pages !== null && mine.pages.has(page));
  if (present) return other;
  if (++t.counts[cpu]! > TLB_CAPACITY) {
    tlb!.clear();
    t.counts[cpu] = 0;
    return tlbFill(t, cpu, asid, mm, page, row);
  }
  if (mine === null) {
    mine = { mm, spec: -1, pages: null, next: first ?? null };
    tlb!.set(asid, mine);
  }
  if (page === SPECULATIVE) mine.spec = row;
  else (mine.pages ??= new Map()).set(page, row);
  return other;
}

/**
 * The key of the first mm other than `mm` with entries under `asid` on `cpu` (in chain order, the
 * one {@link tlbFill} returns), or -1.
 */
export function tlbOtherMm(t: TlbState, cpu: number, asid: number, mm: number): number {
  for (let x = t.cpus[cpu]!.get(asid) ?? null; x; x = x.next) if (x.mm !== mm) return x.mm;
  return -1;
}

/** The set of (asid, mm) on `cpu`, if it has entries. */
function findSet(t: TlbState, cpu: number, asid: number, mm: number): TlbSet | null {
  for (let x = t.cpus[cpu]!.get(asid) ?? null; x; x = x.next) if (x.mm === mm) return x;
  return null;
}

/** Entries of (asid, mm) on `cpu` in pages [first, last] (never the speculative one): [page, fill row][]. */
export function tlbEntriesIn(t: TlbState, cpu: number, asid: number, mm: number, first: number, last: number): [number, number][] {
  const pages = findSet(t, cpu, asid, mm)?.pages;
  const out: [number, number][] = [];
  if (pages) for (const [pg, r] of pages) if (pg >= first && pg <= last) out.push([pg, r]);
  return out;
}

/** The row that filled one of (asid, mm)'s entries on `cpu` (the speculative one first), if any. */
export function tlbAnyFillRow(t: TlbState, cpu: number, asid: number, mm: number): number | undefined {
  const x = findSet(t, cpu, asid, mm);
  if (!x) return undefined;
  if (x.spec >= 0) return x.spec;
  // Stryker disable next-line OptionalChaining: equivalent, a set linked in a TLB always holds an entry, so one without a speculative entry has a page Map
  return x.pages?.values().next().value;
}

/** ASIDs a CPU's TLB may hold for {@link localFlushTlbAll} to delete them one by one rather than clear the Map. */
const SMALL_TLB = 4;

const size = (x: TlbSet) => (x.spec >= 0 ? 1 : 0) + (x.pages ? x.pages.size : 0);

/**
 * `local_flush_tlb_all()` in the slow path of `check_and_switch_context`: issued while TTBR0 still
 * holds the outgoing mm, so that mm's entries under its ASID may be re-fetched and are kept.
 */
export function localFlushTlbAll(t: TlbState, cpu: number, keepMm: number, keepAsid: number): void {
  const tlb = t.cpus[cpu]!;
  const kept = keepMm >= 0 ? findSet(t, cpu, keepAsid, keepMm) : null;
  // A TLB of a few ASIDs (where every switch rolls over, the usual case: the outgoing mm's and the
  // one filled since the last flush) is emptied entry by entry: `Map.clear` allocates a table each
  // time. Either way what stays is the kept set alone, under its ASID.
  // Stryker disable next-line ConditionalExpression,EqualityOperator,BlockStatement: equivalent, both ways leave the same TLB (test/model-tlb-local-flush.test.ts checks both sides of the size)
  if (tlb.size <= SMALL_TLB) {
    // Stryker disable next-line ConditionalExpression: equivalent, deleting the kept ASID's entry too is undone by the set below
    for (const a of tlb.keys()) if (kept === null || a !== keepAsid) tlb.delete(a);
    t.counts[cpu] = 0;
    if (kept) {
      kept.next = null;
      // Stryker disable next-line ConditionalExpression: equivalent, setting the entry it already holds changes nothing
      if (tlb.get(keepAsid) !== kept) tlb.set(keepAsid, kept);
      t.counts[cpu] = size(kept);
    }
    return;
  }
  tlb.clear();
  t.counts[cpu] = 0;
  if (kept) {
    kept.next = null;
    tlb.set(keepAsid, kept);
    t.counts[cpu] = size(kept);
  }
}

/** `flush_tlb_mm()`: TLBI ASIDE1IS, broadcast to every CPU. */
export function tlbiAsidBroadcast(t: TlbState, asid: number): void {
  for (let c = 0; c < t.cpus.length; c++) {
    for (let x = t.cpus[c]!.get(asid) ?? null; x; x = x.next) t.counts[c]! -= size(x);
    t.cpus[c]!.delete(asid);
  }
}

/** `__flush_tlb_range()` with per-page TLBI VAE1IS: pages [first, last] under `asid`, every CPU. */
export function tlbiVaRangeBroadcast(t: TlbState, asid: number, first: number, last: number): void {
  for (let c = 0; c < t.cpus.length; c++) {
    const head = t.cpus[c]!.get(asid);
    if (!head) continue;
    // Unlink the sets left empty, keeping the others in their order.
    let keep: TlbSet | null = null;
    let tail: TlbSet | null = null;
    for (let x: TlbSet | null = head; x;) {
      const next: TlbSet | null = x.next;
      const pages = x.pages;
      if (pages) {
        // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: equivalent, both loops delete exactly the set's pages in [first, last] and count each deletion; the test only picks the shorter loop
        if (last - first + 1 < pages.size) {
          for (let p = first; p <= last; p++) if (pages.delete(p)) t.counts[c]!--;
        } else {
          for (const p of pages.keys())
            if (p >= first && p <= last) {
              pages.delete(p);
              t.counts[c]!--;
            }
        }
        if (pages.size === 0) x.pages = null;
      }
      x.next = null;
      if (size(x) > 0) {
        if (tail) tail.next = x;
        else keep = x;
        tail = x;
      }
      x = next;
    }
    if (keep) t.cpus[c]!.set(asid, keep);
    else t.cpus[c]!.delete(asid);
  }
}
