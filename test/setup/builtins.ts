/**
 * vitest setup file (each test file): register the built-in designs (examples/designs/drivers/, the
 * `--driver` names, and examples/designs/faults/, the `--fault` names) as the CLI's entry points do
 * before building a system, so tests can keep calling `createSystem(config)` with a `driver` and
 * `faults` in the config.
 */
import { loadBuiltins } from '../../src/design/builtins.js';

await loadBuiltins();
