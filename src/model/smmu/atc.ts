/**
 * A device's ATC (PCIe ATS Address Translation Cache), as SSID -> page -> entry. Nested maps rather
 * than one `ssid * 2^36 + page` number: with 20-bit PASIDs and 36-bit page numbers that key needs
 * 56 bits and stops being exact past 2^53 (PASIDs from 2^17 on would share entries).
 */
import type { Master, TlbEntry } from './state.js';

/** ATC entries per master before it is emptied. */
export const ATC_CAPACITY = 4096;

export function atcLookup(m: Master, ssid: number, page: number): TlbEntry | undefined {
  return m.atc.get(ssid)?.get(page);
}

/** Number of entries (for the capacity rule). */
function atcSize(m: Master): number {
  let n = 0;
  for (const pages of m.atc.values()) n += pages.size;
  return n;
}

export function atcFill(m: Master, ssid: number, page: number, e: TlbEntry): void {
  let pages = m.atc.get(ssid);
  if (!pages?.has(page) && atcSize(m) >= ATC_CAPACITY) {
    m.atc.clear();
    pages = undefined;
  }
  if (!pages) m.atc.set(ssid, (pages = new Map()));
  pages.set(page, e);
}

/** Every entry, with its SSID and page. */
export function* atcEntries(m: Master): Generator<[number, number, TlbEntry]> {
  for (const [ssid, pages] of m.atc) for (const [page, e] of pages) yield [ssid, page, e];
}

/** Entries of `ssid` (every SSID when `ssid < 0`) in pages [first, last] (`last < 0`: all pages) removed. */
export function atcDrop(m: Master, ssid: number, first: number, last: number): void {
  for (const [s, pages] of m.atc) {
    if (ssid >= 0 && s !== ssid) continue;
    if (last < 0) pages.clear();
    else for (const pg of pages.keys()) if (pg >= first && pg <= last) pages.delete(pg);
    if (pages.size === 0) m.atc.delete(s);
  }
}
