/**
 * The kernel functions the model is made of, as one record of replaceable parts under their kernel
 * names (docs/designs.md lists each with its source). A system runs the parts it was created with
 * (`createSystem(config, parts)`): the base ones, or a design's composition of them
 * (src/design/). Parts are code, not state: they live beside the state, never in it, so a state
 * stays plain data that explore can clone, compare and hash.
 */
import { ALLOCATOR_PARTS, type AllocatorParts } from '../cpu/allocator.js';

/** Every replaceable part (today the CPU ASID allocator's: arch/arm64/mm/context.c). */
export type KernelParts = AllocatorParts;
/** A part's kernel name. */
export type PartName = keyof KernelParts;

/** The parts as the model has them: the base a design starts from. */
export const BASE_PARTS: KernelParts = ALLOCATOR_PARTS;

/**
 * The part names, in the order docs/designs.md lists them. `satisfies` makes the compiler refuse a
 * list that misses a part or names one that does not exist.
 */
export const PART_NAMES = [
  'check_and_switch_context',
  'new_context',
  'check_update_reserved_asid',
  'flush_context',
  'arm64_mm_context_get',
  'arm64_mm_context_put',
  'asids_init',
] as const satisfies readonly PartName[];
type Missing = Exclude<PartName, (typeof PART_NAMES)[number]>;
/** Compile-time check: `never` unless a part is missing from {@link PART_NAMES}. */
export const PART_NAMES_COMPLETE: Missing extends never ? true : Missing = true;
