/**
 * The built-in designs: `examples/designs/allocators/<version>.mjs`, one per `--allocator` version
 * but the base parts' own (`v5.10`), `examples/designs/drivers/<name>.mjs`, one per `--driver` name
 * but the base parts' own (`private-asid`), and `examples/designs/faults/<name>.mjs`, one per `--fault` name
 * (docs/designs.md). They are design files like any `--design` file (the public API only, the same
 * shape check) that ship with the tool, so a system names them (`config.allocator`, `config.driver`,
 * `config.faults`)
 * instead of a path.
 * Loading one registers it with the model (model/kernel/builtins.ts), which composes it, unguarded
 * (it is ours), whenever a system names it. Every entry point that builds a system calls
 * {@link loadBuiltins} first: the model refuses to run a system naming one that is not loaded.
 */
import { FAULTS } from '../model/config.js';
import { ALLOCATOR_VARIANTS } from '../model/cpu/variants.js';
import { BASE_ALLOCATOR, BASE_DRIVER, type BuiltinConfig, builtinLoaded, builtinsOf, registerBuiltin } from '../model/kernel/builtins.js';
import { DRIVER_DESIGNS } from '../model/kernel/eras.js';
import type { KernelParts, PartName } from '../model/kernel/parts.js';
import { DESIGN_API, type Design } from './api.js';
import { shapeProblem } from './load.js';

/** The folder of the built-in fault designs, from the package root (this file is src/design/ or dist/design/). */
export const BUILTIN_DIR = new URL('../../examples/designs/faults/', import.meta.url);
/** The folder of the built-in driver designs. */
export const DRIVER_DIR = new URL('../../examples/designs/drivers/', import.meta.url);

/** The folder of the built-in allocator versions. */
export const ALLOCATOR_DIR = new URL('../../examples/designs/allocators/', import.meta.url);

/** Every built-in design's name: the allocator versions and driver designs over the base parts, then the faults. */
export const BUILTINS: readonly string[] = [
  ...ALLOCATOR_VARIANTS.filter((v) => v !== BASE_ALLOCATOR),
  ...DRIVER_DESIGNS.filter((d) => d !== BASE_DRIVER),
  ...FAULTS,
];

const dirOf = (name: string): URL =>
  (ALLOCATOR_VARIANTS as readonly string[]).includes(name)
    ? ALLOCATOR_DIR
    : (DRIVER_DESIGNS as readonly string[]).includes(name)
      ? DRIVER_DIR
      : BUILTIN_DIR;

/** Built-in design `name`'s parts over `base`, as its file replaces them. */
function composer(design: Design): (base: KernelParts) => KernelParts {
  return (base) => {
    const parts: Record<string, unknown> = { ...base };
    for (const [name, make] of Object.entries(design.parts) as [PartName, (b: unknown, api: typeof DESIGN_API) => unknown][])
      if (make !== undefined) parts[name] = make(base[name], DESIGN_API);
    return parts as unknown as KernelParts;
  };
}

const loading = new Map<string, Promise<void>>();

async function loadOne(name: string): Promise<void> {
  const url = new URL(`${name}.mjs`, dirOf(name));
  const mod = (await import(url.href)) as { default?: unknown };
  const wrong = shapeProblem(mod.default);
  if (wrong) throw new Error(`internal: the built-in design ${url.pathname} is not a design: ${wrong}`);
  const design = mod.default as Design;
  if (design.name !== name) throw new Error(`internal: the built-in design ${url.pathname} is named "${design.name}", not "${name}"`);
  registerBuiltin(name, composer(design));
}

/**
 * Load and register the built-in designs `names` (every one by default), each once per thread.
 * @throws Error (internal) when a file is missing or not a design: the package is broken.
 */
export async function loadBuiltins(names: readonly string[] = BUILTINS): Promise<void> {
  await Promise.all(
    names.map((name) => {
      if (builtinLoaded(name)) return undefined;
      let p = loading.get(name);
      if (!p) loading.set(name, (p = loadOne(name)));
      return p;
    }),
  );
}

/** Load the built-in designs a system names (its driver design and its faults): every entry point does before building it. */
export const loadBuiltinsFor = (system: BuiltinConfig): Promise<void> => loadBuiltins(builtinsOf(system));
