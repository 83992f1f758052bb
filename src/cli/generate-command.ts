/**
 * `asid-replay generate <profile>`: a seeded synthetic workload as trace v1.
 */
import { type Command, Option } from 'commander';
import { PROFILES, PROFILE_NAMES } from '../generate/profiles.js';
import { type Io, checkWritable, intArg } from './shared.js';

export function generateCommand(program: Command, io: Io): void {
  program
    .command('generate')
    .description(
      'Generate a seeded, deterministic synthetic workload as trace v1 (same options, same bytes).\n' +
        'Streams to disk: memory stays flat however many events are asked for.\n\nProfiles:\n' +
        PROFILE_NAMES.map((n) => `  ${n.padEnd(15)} ${PROFILES[n]!.description}`).join('\n'),
    )
    .addArgument(program.createArgument('<profile>', 'workload profile').choices(PROFILE_NAMES))
    .requiredOption('-o, --output <file>', 'trace v1 CSV to write ("-" for stdout)')
    .addOption(new Option('-n, --events <n>', 'number of events').default(100_000).argParser(intArg('--events', 1)))
    .addOption(new Option('--seed <n>', 'random seed').default(1).argParser(intArg('--seed', 0, 2 ** 31 - 1)))
    .addOption(new Option('--cpus <n>', 'CPUs').default(8).argParser(intArg('--cpus', 1, 4096)))
    .addOption(
      new Option('--asid-bits <n>', 'CPU ASID width (8 or 16; 2-16 as a what-if)').default(8).argParser(intArg('--asid-bits', 2, 16)),
    )
    .option('--kpti', 'declare KPTI in the system preamble', false)
    .addOption(new Option('--tasks <n>', 'live user tasks to keep (default 4 per CPU)').argParser(intArg('--tasks', 1)))
    .addHelpText('after', '\nExample: asid-replay generate kernel-build -n 1000000 --seed 7 -o build.csv')
    .action(
      async (
        profile: string,
        o: { output: string; events: number; seed: number; cpus: number; asidBits: number; kpti: boolean; tasks?: number },
      ) => {
        await checkWritable(o.output); // a bad -o fails before the progress bar and the summary line
        const opts = { events: o.events, seed: o.seed, cpus: o.cpus, asidBits: o.asidBits, kpti: o.kpti, tasks: o.tasks };
        const [{ default: cliProgress }, { generateToFile }] = await Promise.all([
          import('cli-progress'),
          import('../generate/generate.js'),
        ]);
        const bar =
          o.output !== '-' && io.isTty && o.events >= 200_000
            ? new cliProgress.SingleBar(
                { stream: process.stderr, format: 'generate [{bar}] {percentage}% {value}/{total} events' },
                cliProgress.Presets.shades_classic,
              )
            : undefined;
        bar?.start(o.events, 0);
        const n = await generateToFile(profile, opts, o.output, bar ? (k) => bar.update(k) : undefined);
        bar?.update(n);
        bar?.stop();
        io.err(`generated ${n} events (${profile}, seed ${o.seed}) -> ${o.output === '-' ? 'stdout' : o.output}\n`);
      },
    );
}
