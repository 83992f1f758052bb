/**
 * How a system's parts are composed (src/model/kernel/builtins.ts, `partsFor`): the base parts, the
 * allocator version and the driver design the config names, then a user's `--design` remade over
 * them (a patch applies to that kernel's allocator and driver), then the faults, outermost. Each
 * built-in here is a test double that wraps `check_update_reserved_asid` and logs its name when
 * called, so the call order shows the composition order (outermost first).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Fault } from '../src/model/config.js';
import type { AllocatorVariant } from '../src/model/cpu/variants.js';
import { BASE_ALLOCATOR, BASE_DRIVER, builtinsOf, partsFor, registerBuiltin, registerRecipe } from '../src/model/kernel/builtins.js';
import type { DriverDesign } from '../src/model/kernel/eras.js';
import { BASE_PARTS, type KernelParts } from '../src/model/kernel/parts.js';

const log: string[] = [];
type Cura = KernelParts['check_update_reserved_asid'];
/** A part that logs `name` and calls the one it replaces (or, `bottom`, returns false without it: no real state needed). */
const wrap =
  (name: string, base: Cura, bottom = false): Cura =>
  (p, s, o, n) => {
    log.push(name);
    return bottom ? false : base(p, s, o, n);
  };
const double =
  (name: string, bottom = false) =>
  (b: KernelParts): KernelParts => ({ ...b, check_update_reserved_asid: wrap(name, b.check_update_reserved_asid, bottom) });

/** Call the composed part and return who ran, outermost first. */
function order(parts: KernelParts): string[] {
  log.length = 0;
  const none = undefined as never;
  parts.check_update_reserved_asid(none, none, 0, 0);
  return [...log];
}

const cfg = (allocator: string, driver: string, faults: string[]) => ({
  allocator: allocator as AllocatorVariant,
  driver: driver as DriverDesign,
  faults: faults as Fault[],
});

beforeAll(() => {
  registerBuiltin('tA', double('A', true)); // an allocator version (innermost here: it does not call the base)
  registerBuiltin('tD', double('D'));
  registerBuiltin('tF', double('F'));
  registerBuiltin('tG', double('G'));
  registerBuiltin('tFtG', double('FG'));
});

describe('partsFor: allocator and driver under the design, faults over it', () => {
  it('builtinsOf names the allocator and driver unless the base parts are them, then the faults', () => {
    expect(builtinsOf(cfg(BASE_ALLOCATOR, BASE_DRIVER, []))).toEqual([]);
    expect(builtinsOf(cfg(BASE_ALLOCATOR, BASE_DRIVER, ['tF']))).toEqual(['tF']);
    expect(builtinsOf(cfg('tA', BASE_DRIVER, ['tF']))).toEqual(['tA', 'tF']);
    expect(builtinsOf(cfg('tA', 'tD', ['tF', 'tG']))).toEqual(['tA', 'tD', 'tF', 'tG']);
  });

  it('a config naming no built-in runs the given parts themselves (the same object)', () => {
    expect(partsFor(cfg(BASE_ALLOCATOR, BASE_DRIVER, []))).toBe(BASE_PARTS);
    const design = { ...BASE_PARTS };
    expect(partsFor(cfg(BASE_ALLOCATOR, BASE_DRIVER, []), design)).toBe(design);
  });

  it('faults wrap the driver, which wraps the allocator version', () => {
    expect(order(partsFor(cfg('tA', 'tD', ['tF'])))).toEqual(['F', 'D', 'A']);
    expect(order(partsFor(cfg('tA', 'tD', ['tF', 'tG'])))).toEqual(['G', 'F', 'D', 'A']);
  });

  it("a user's design (with its recipe) is remade over the allocator and driver, and the faults over it", () => {
    const recipe = double('R');
    const design = Object.freeze(recipe(BASE_PARTS));
    registerRecipe(design, recipe);
    expect(order(partsFor(cfg('tA', 'tD', ['tF']), design))).toEqual(['F', 'R', 'D', 'A']);
    expect(order(partsFor(cfg('tA', 'tD', []), design))).toEqual(['R', 'D', 'A']);
  });

  it('hand-made parts (no recipe) get the driver composed over them, the faults over that', () => {
    const hand: KernelParts = { ...BASE_PARTS, check_update_reserved_asid: wrap('H', BASE_PARTS.check_update_reserved_asid, true) };
    expect(order(partsFor(cfg(BASE_ALLOCATOR, 'tD', ['tF']), hand))).toEqual(['F', 'D', 'H']);
  });

  it('each combination of faults is its own composition (["tF","tG"] is not ["tFtG"])', () => {
    expect(order(partsFor(cfg('tA', BASE_DRIVER, ['tF', 'tG'])))).toEqual(['G', 'F', 'A']);
    expect(order(partsFor(cfg('tA', BASE_DRIVER, ['tFtG'])))).toEqual(['FG', 'A']);
  });

  it("a config's parts are composed once: the same object on every call (explore builds many systems)", () => {
    const c = cfg('tA', 'tD', ['tF']);
    expect(partsFor(c)).toBe(partsFor(c));
    const design = { ...BASE_PARTS };
    expect(partsFor(c, design)).toBe(partsFor(c, design));
    expect(partsFor(c, design)).not.toBe(partsFor(c));
  });

  it('a built-in that was never loaded is an internal error naming it, never a run without it', () => {
    expect(() => partsFor(cfg('tA', BASE_DRIVER, ['never-loaded']))).toThrow(/built-in design "never-loaded" was not loaded/);
  });
});
