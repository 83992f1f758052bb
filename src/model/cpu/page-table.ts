/**
 * A process page table as extents: sorted, disjoint page ranges [start, end] that share one PTE.
 * A page outside every extent has {@link INITIAL_PTE} (mapped read-write since the trace began).
 *
 * Why extents: traces map and unmap ranges (a 4 MiB munmap is 1024 pages), and what the model
 * needs per page is only "which mapping, with which rights"; a Map per page cost a Map entry and a
 * PTE object per page touched. Walks are a binary search; an update rewrites only the extents it
 * overlaps. Plain data (three arrays), so clones and digests stay cheap.
 */

/**
 * One page-table entry as the model needs it (immutable: replaced, never mutated, so clones share them).
 * `prot` 0 = not mapped; `epoch` identifies the mapping (a page mapped again after an unmap is a new
 * mapping, i.e. possibly another physical page); `row` is the trace row that last changed it.
 */
export interface Pte {
  readonly prot: number;
  readonly epoch: number;
  readonly row: number;
}

/** The PTE of a page no event touched: mapped read-write, epoch 0. */
export const INITIAL_PTE: Pte = Object.freeze({ prot: 3, epoch: 0, row: 0 });

export interface PageTable {
  starts: number[];
  /** Inclusive. */
  ends: number[];
  ptes: Pte[];
}

export function createPageTable(): PageTable {
  return { starts: [], ends: [], ptes: [] };
}

/** A copy sharing the (immutable) PTEs. */
export function clonePageTable(t: PageTable): PageTable {
  return { starts: t.starts.slice(), ends: t.ends.slice(), ptes: t.ptes.slice() };
}

/** Index of the first extent that ends at or after `page` (= extents count if none). */
function firstEndingFrom(t: PageTable, page: number): number {
  let lo = 0;
  let hi = t.ends.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (t.ends[mid]! < page) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The PTE of `page`. */
export function ptWalk(t: PageTable, page: number): Pte {
  if (t.starts.length === 0) return INITIAL_PTE;
  const i = firstEndingFrom(t, page);
  return i < t.starts.length && t.starts[i]! <= page ? t.ptes[i]! : INITIAL_PTE;
}

const samePte = (a: Pte, b: Pte) => a === b || (a.prot === b.prot && a.epoch === b.epoch && a.row === b.row);

/**
 * Rewrite pages [first, last]: `f` sees the old PTE of each run of pages that share one and returns
 * the new PTE for the run (the same object to leave it). Runs in page order.
 */
export function ptUpdate(t: PageTable, first: number, last: number, f: (old: Pte) => Pte): void {
  const n = t.starts.length;
  const i0 = firstEndingFrom(t, first);
  const starts: number[] = [];
  const ends: number[] = [];
  const ptes: Pte[] = [];
  const push = (s: number, e: number, p: Pte) => {
    const k = ptes.length - 1;
    if (k >= 0 && ends[k] === s - 1 && samePte(ptes[k]!, p)) ends[k] = e;
    else if (p !== INITIAL_PTE) {
      starts.push(s);
      ends.push(e);
      ptes.push(p);
    }
  };
  // The part of the first overlapping extent before `first` stays as it was.
  if (i0 < n && t.starts[i0]! < first) push(t.starts[i0]!, first - 1, t.ptes[i0]!);
  let i = i0;
  let c = first;
  while (c <= last) {
    if (i < n && t.starts[i]! <= c) {
      const e = Math.min(t.ends[i]!, last);
      push(c, e, f(t.ptes[i]!));
      c = e + 1;
      if (t.ends[i]! <= last) i++;
    } else {
      const e = i < n ? Math.min(t.starts[i]! - 1, last) : last;
      push(c, e, f(INITIAL_PTE));
      c = e + 1;
    }
  }
  // The part of the last overlapping extent after `last` stays as it was.
  let i1 = i;
  if (i < n && t.starts[i]! <= last) {
    push(last + 1, t.ends[i]!, t.ptes[i]!);
    i1 = i + 1;
  }
  t.starts.splice(i0, i1 - i0, ...starts);
  t.ends.splice(i0, i1 - i0, ...ends);
  t.ptes.splice(i0, i1 - i0, ...ptes);
}

/**
 * The first and last page of [first, last] whose PTE `pred` accepts (pages outside every extent
 * have {@link INITIAL_PTE}), or null when none does. Read-only; visits each overlapping extent once.
 */
export function ptExtent(t: PageTable, first: number, last: number, pred: (p: Pte) => boolean): [number, number] | null {
  let lo = -1;
  // Stryker disable next-line UnaryOperator: equivalent, hi is read only once lo >= 0, and the first match sets both
  let hi = -1;
  const see = (s: number, e: number, p: Pte) => {
    if (!pred(p)) return;
    if (lo < 0) lo = s;
    hi = e;
  };
  const n = t.starts.length;
  let i = firstEndingFrom(t, first);
  let c = first;
  while (c <= last) {
    if (i < n && t.starts[i]! <= c) {
      const e = Math.min(t.ends[i]!, last);
      see(c, e, t.ptes[i]!);
      c = e + 1;
      i++;
    } else {
      const e = i < n ? Math.min(t.starts[i]! - 1, last) : last;
      see(c, e, INITIAL_PTE);
      c = e + 1;
    }
  }
  return lo < 0 ? null : [lo, hi];
}
