/**
 * Pages, for the CPU page tables and the SMMU's io-pgtables alike: 4 KiB (PAGE_SHIFT 12), page
 * numbers of a virtual address, and the pages a [va, va + size) range covers.
 */
import { EventError } from './errors.js';

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 2 ** PAGE_SHIFT;

/** Page number of a virtual address (or IOVA). */
export const pageOf = (va: number): number => Math.floor(va / PAGE_SIZE);

/** Virtual address of a page number. */
export const vaOf = (page: number): number => page * PAGE_SIZE;

/**
 * First and last page of [va, va + size).
 * @throws EventError (column `size`) for an empty range: no map or unmap of 0 bytes exists.
 */
export function pageRange(va: number, size: number, row: number): [number, number] {
  if (size <= 0) throw new EventError('size must be at least 1 byte', row, 'size');
  return [pageOf(va), pageOf(va + size - 1)];
}
