/**
 * Built-in designs: designs that ship with the tool and that a system names in its config rather
 * than by a path: `allocators/<version>` (examples/designs/allocators/, the arm64 ASID allocator
 * versions other than the base, v5.10) and `faults/<name>` (examples/designs/faults/, one per
 * `--fault` name). The model cannot import them
 * (they are design files, loaded by src/design/builtins.ts at start-up): this registry maps a name to
 * the function composing its parts, and {@link partsFor} gives the parts a config runs. Built-ins
 * are trusted, so they are composed without the guards of src/design/compose.ts.
 */
import type { SystemConfig } from '../config.js';
import { BASE_PARTS, type KernelParts } from './parts.js';

/** The allocator version the base parts are (arch/arm64/mm/context.c as merged in v5.10, 48118151d8cc). */
export const BASE_ALLOCATOR = 'v5.10';

/**
 * The built-in designs `config` runs, in composition order: its allocator version (none for the
 * base's), then its faults. Names are paths under examples/designs/ without `.mjs`.
 */
export function builtinNames(config: Pick<SystemConfig, 'allocator' | 'faults'>): string[] {
  const allocator = config.allocator === BASE_ALLOCATOR ? [] : [`allocators/${config.allocator}`];
  return config.faults.length === 0 ? allocator : [...allocator, ...config.faults.map((f) => `faults/${f}`)];
}

/** A built-in design: the parts it runs over `base`. */
export type BuiltinDesign = (base: KernelParts) => KernelParts;

const registry = new Map<string, BuiltinDesign>();

/** Register built-in `name` (src/design/builtins.ts does, before any system is built). */
export function registerBuiltin(name: string, compose: BuiltinDesign): void {
  registry.set(name, compose);
  cache = new WeakMap();
}

/** Whether built-in `name` is registered. */
export const builtinLoaded = (name: string): boolean => registry.has(name);

/** Compositions already made: base parts -> names joined -> parts (a config's parts are built once). */
let cache = new WeakMap<KernelParts, Map<string, KernelParts>>();

/**
 * The parts a system with `config` runs: `base` (the base parts, or a design's) with the built-ins
 * `config` names ({@link builtinNames}: its allocator version, then its faults) composed over it, in order.
 * @throws Error (internal) naming a built-in that was not registered: never a silent run without it.
 */
export function partsFor(config: Pick<SystemConfig, 'allocator' | 'faults'>, base: KernelParts = BASE_PARTS): KernelParts {
  if (config.faults.length === 0 && config.allocator === BASE_ALLOCATOR) return base;
  const names = builtinNames(config);
  const key = names.join(',');
  let byBase = cache.get(base);
  if (!byBase) cache.set(base, (byBase = new Map()));
  let parts = byBase.get(key);
  if (parts) return parts;
  parts = base;
  for (const name of names) {
    const compose = registry.get(name);
    if (!compose)
      throw new Error(
        `internal: the built-in design "${name}" was not loaded (src/design/builtins.ts loadBuiltins must run before a system is built)`,
      );
    parts = Object.freeze({ ...parts, ...compose(parts) });
  }
  byBase.set(key, parts);
  return parts;
}
