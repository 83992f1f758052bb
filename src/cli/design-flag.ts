/**
 * `--design <file.mjs>` on replay, explore, shrink, compare and check (docs/designs.md): a patch
 * written as a file that replaces kernel functions of the model. Only this flag (a path the user
 * typed) loads a design: a trace or an expectation file never makes the tool run code.
 */
import { Option } from 'commander';
import type { LoadedDesign } from '../design/load.js';
import { InputError } from '../util/errors.js';

export const DESIGN_HELP =
  'a patch as a file: replaces kernel functions of the model (docs/designs.md; examples/designs/); its base release is the kernel';

/** The `--design` option. */
export const designOption = (): Option => new Option('--design <file.mjs>', DESIGN_HELP);

/**
 * Load `--design` (when given) and reconcile its base release with `--kernel`: the design's base is
 * the kernel unless `--kernel` names the same release. A design without a base applies to the
 * kernel the run uses (`--kernel`, or the trace's).
 * @throws DesignError / InputError (exit 2) for a design that cannot load, or a `--kernel` that is not its base.
 */
export async function loadDesignFlag(o: { design?: string; kernel?: string }): Promise<LoadedDesign | undefined> {
  if (o.design === undefined) return undefined;
  const { loadDesign } = await import('../design/load.js'); // code of the user's: loaded only on request
  const d = await loadDesign(o.design);
  if (d.base === undefined) return d;
  const { resolveKernel } = await import('../model/kernel/eras.js');
  try {
    resolveKernel(d.base);
  } catch (e) {
    throw new InputError(`the design's base "${d.base}" is not a kernel this tool models: ${(e as Error).message}`, o.design);
  }
  if (o.kernel !== undefined && resolveKernel(o.kernel).version !== resolveKernel(d.base).version)
    throw new InputError(
      `--kernel ${o.kernel} is not the design's base (${d.base}): a design is a patch on its base release; drop --kernel or change "base"`,
      o.design,
    );
  o.kernel = d.base;
  return d;
}

/** What a report says of the design it ran (JSON `design`, docs/report.md). */
export const designSummary = (d: LoadedDesign, kernel: string) => ({
  name: d.name,
  base: d.base ?? kernel,
  file: d.file,
  sha256: d.hash,
  replaced: d.replaced,
});
