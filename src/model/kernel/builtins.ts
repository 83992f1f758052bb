/**
 * Built-in designs: designs that ship with the tool and that a system names in its config rather
 * than by a path: the ASID allocator versions other than the base's (examples/designs/allocators/,
 * `config.allocator`), the driver designs of `--driver` (examples/designs/drivers/, `config.driver`)
 * and the `--fault`s (examples/designs/faults/, `config.faults`). The model cannot import them (they are
 * design files, loaded by src/design/builtins.ts at start-up): this registry maps a name to the
 * function composing its parts, and {@link partsFor} gives the parts a config runs. Built-ins are
 * trusted, so they are composed without the guards of src/design/compose.ts.
 */
import type { SystemConfig } from '../config.js';
import type { AllocatorVariant } from '../cpu/variants.js';
import type { DriverDesign } from './eras.js';
import { BASE_PARTS, type KernelParts } from './parts.js';

/** A built-in design: the parts it runs over `base`. */
export type BuiltinDesign = (base: KernelParts) => KernelParts;

/**
 * The driver design the base parts are: v6.11's private SVA ASIDs (d38c28dbefee). The other two are
 * built-in designs over it (examples/designs/drivers/shared-asid.mjs, btm-2023.mjs).
 */
export const BASE_DRIVER: DriverDesign = 'private-asid';

/** The allocator version the base parts are (arch/arm64/mm/context.c as merged in v5.10, 48118151d8cc). */
export const BASE_ALLOCATOR: AllocatorVariant = 'v5.10';

/** What a system's parts depend on in its config. */
export type BuiltinConfig = Pick<SystemConfig, 'allocator' | 'driver' | 'faults'>;

/**
 * The built-in designs a config names, in the order they compose: its allocator version and its
 * driver design (each unless the base's), then its faults.
 */
export function builtinsOf(config: BuiltinConfig): string[] {
  const names: string[] = [];
  if (config.allocator !== BASE_ALLOCATOR) names.push(config.allocator);
  if (config.driver !== BASE_DRIVER) names.push(config.driver);
  // Stryker disable next-line ConditionalExpression: equivalent, [...names, ...faults] with no names is [...faults] (the test only spares an allocation)
  return names.length === 0 ? [...config.faults] : [...names, ...config.faults];
}

const registry = new Map<string, BuiltinDesign>();

/** Register built-in `name` (src/design/builtins.ts does, before any system is built). */
export function registerBuiltin(name: string, compose: BuiltinDesign): void {
  registry.set(name, compose);
  cache = new WeakMap();
}

/** Whether built-in `name` is registered. */
export const builtinLoaded = (name: string): boolean => registry.has(name);

/**
 * How a design's parts are made again over other parts (src/design/compose.ts registers each
 * composition it makes): so a system composes its driver design *under* a user's design, as the
 * patch applies to the kernel with that driver.
 */
const recipes = new WeakMap<KernelParts, BuiltinDesign>();

/** Record that `parts` are `recompose(BASE_PARTS)` (src/design/compose.ts). */
export function registerRecipe(parts: KernelParts, recompose: BuiltinDesign): void {
  recipes.set(parts, recompose);
}

/** Compositions already made: design parts -> driver and fault names joined -> parts (a config's parts are built once). */
let cache = new WeakMap<KernelParts, Map<string, KernelParts>>();

function builtin(name: string): BuiltinDesign {
  const compose = registry.get(name);
  if (!compose)
    throw new Error(
      `internal: the built-in design "${name}" was not loaded (src/design/builtins.ts loadBuiltins must run before a system is built)`,
    );
  return compose;
}

const over = (parts: KernelParts, name: string): KernelParts => Object.freeze({ ...parts, ...builtin(name)(parts) });

/**
 * The parts a system with `config` runs: the base parts with the allocator version and the driver
 * design the config names (none for {@link BASE_ALLOCATOR} / {@link BASE_DRIVER}), then `design`'s
 * replacements (a `--design`, remade over them: a patch applies to that kernel's allocator and
 * driver), then the built-ins `config.faults` names, in order. Parts made without
 * src/design/compose.ts (no recipe) get the allocator and driver designs composed over them instead.
 * @throws Error (internal) naming a built-in that was not registered: never a silent run without it.
 */
export function partsFor(config: BuiltinConfig, design: KernelParts = BASE_PARTS): KernelParts {
  const names = builtinsOf(config);
  // Stryker disable next-line ConditionalExpression: equivalent, with no built-in the code below composes nothing over `design` and returns it (the test spares a cache entry)
  if (names.length === 0) return design;
  const key = `${config.allocator}|${config.driver}|${config.faults.join(',')}`;
  let byDesign = cache.get(design);
  if (!byDesign) cache.set(design, (byDesign = new Map()));
  let parts = byDesign.get(key);
  if (parts) return parts;
  const under = names.slice(0, names.length - config.faults.length); // allocator, driver
  parts = under.reduce(over, BASE_PARTS);
  // Stryker disable next-line ConditionalExpression: equivalent, -> true: BASE_PARTS has no recipe, and `under` over BASE_PARTS is what `parts` already holds
  if (design !== BASE_PARTS) {
    const recipe = recipes.get(design);
    parts = recipe ? recipe(parts) : under.reduce(over, design);
  }
  parts = config.faults.reduce(over, parts);
  byDesign.set(key, parts);
  return parts;
}
