/**
 * `npm run sim -- --scenario NAME [--peers N] [--seed S] [--json] [--out DIR]`:
 * a deterministic discrete-event simulation of a swarm, driving the real
 * picker, choker, token bucket and tracker registry over a modelled network
 * (see sim/README in the main README's "Simulator" section).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ArgumentError } from '../src/errors.js';
import { numberArg, rateArg } from '../scripts/lib/args.js';
import { DEFAULT_MAX_HOLDERS } from '../src/tracker/holders-sample.js';
import { MAX_LIST_ENTRIES } from '../src/protocol/messages.js';
import { type BenchSummary, compareReport, jsonReport, textReport, writePlots } from './report.js';
import { SCENARIOS, type ScenarioKnobs, scenario } from './scenarios.js';
import { type SimProgress, simulate } from './swarm.js';

export const SIM_HELP = `sim: a swarm simulated on the real picker, choker, token bucket and tracker registry

  --scenario NAME    one of: ${SCENARIOS.map((s) => s.name).join(', ')} (--list describes them)
  --peers N          peers besides the seed (default: the scenario's)
  --seed S           random seed (default 1): the same seed gives the same run
  --max-holders N    most holders per FCHU answer, 0 = every holder (default ${DEFAULT_MAX_HOLDERS}, as the tracker CLI)
  --poll MODE        adaptive (the downloader's: src/peer/poll-policy.ts, 1 s .. 8 s) or fixed (every 1 s); default adaptive
  --part-length S    part length (default: the scenario's), e.g. 256KiB
  --size S           file size (default: the scenario's), e.g. 128MiB
  --out DIR          write SVG plots (completion CDF, throughput, tracker load) and the full JSON there
  --compare FILE     print the run beside a bench:swarm --json output (e.g. for s1 / s3)
  --json             print one JSON object instead of the table
  --limit S          stop after S simulated seconds (default: the scenario's), e.g. to profile a long run
  --progress         every 500 000 events, a line on stderr: simulated time, events, CPU, peers still downloading,
                     requests refused, events queued, resident memory
  --list             list the scenarios`;

/** The scenario's knobs (scenarios.ts) and what the command does with the run. */
export interface SimArgs extends ScenarioKnobs {
  scenario: string;
  out?: string;
  compare?: string;
  json: boolean;
  progress: boolean;
  /** Stop after this many simulated seconds (the scenario's limit otherwise). */
  limitSeconds?: number;
}

/** null: --help or --list was asked for (the caller prints). */
export function parseSimArgs(argv: string[]): SimArgs | 'help' | 'list' {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      scenario: { type: 'string' },
      peers: { type: 'string' },
      seed: { type: 'string', default: '1' },
      'max-holders': { type: 'string', default: String(DEFAULT_MAX_HOLDERS) },
      poll: { type: 'string', default: 'adaptive' },
      'part-length': { type: 'string' },
      size: { type: 'string' },
      out: { type: 'string' },
      compare: { type: 'string' },
      json: { type: 'boolean', default: false },
      progress: { type: 'boolean', default: false },
      limit: { type: 'string' },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (v.help) return 'help';
  if (v.list) return 'list';
  if (v.scenario === undefined) throw new ArgumentError('--scenario is required');
  if (!scenario(v.scenario)) throw new ArgumentError(`--scenario must be one of ${SCENARIOS.map((s) => s.name).join(', ')}, got ${JSON.stringify(v.scenario)}`);
  if (v.poll !== 'fixed' && v.poll !== 'adaptive') throw new ArgumentError(`--poll must be fixed or adaptive, got ${JSON.stringify(v.poll)}`);
  const partLength = v['part-length'] === undefined ? undefined : rateArg('--part-length', v['part-length']);
  if (partLength !== undefined && (partLength < 1024 || !Number.isSafeInteger(partLength))) throw new ArgumentError('--part-length must be a whole number of bytes >= 1024');
  const size = v.size === undefined ? undefined : rateArg('--size', v.size);
  if (size !== undefined && (size < 1 || !Number.isSafeInteger(size))) throw new ArgumentError('--size must be a whole number of bytes >= 1');
  return {
    scenario: v.scenario,
    peers: v.peers === undefined ? undefined : numberArg('--peers', v.peers, 1, 100_000, true),
    seed: numberArg('--seed', v.seed!, 0, 2 ** 32 - 1, true),
    maxHolders: numberArg('--max-holders', v['max-holders']!, 0, MAX_LIST_ENTRIES, true),
    adaptivePoll: v.poll === 'adaptive',
    partLength,
    size,
    out: v.out,
    compare: v.compare,
    json: v.json!,
    progress: v.progress!,
    limitSeconds: v.limit === undefined ? undefined : numberArg('--limit', v.limit, 1, 10 ** 7, false),
  };
}

export function main(argv: string[]): void {
  let args: ReturnType<typeof parseSimArgs>;
  try {
    args = parseSimArgs(argv);
  } catch (err) {
    process.stderr.write(`sim: ${(err as Error).message}\n\n${SIM_HELP}\n`);
    process.exitCode = 2;
    return;
  }
  if (args === 'help') return void process.stdout.write(`${SIM_HELP}\n`);
  if (args === 'list') return void process.stdout.write(`${SCENARIOS.map((s) => `${s.name.padEnd(12)} ${s.about}`).join('\n')}\n`);
  const sc = scenario(args.scenario)!;
  const built = sc.build({ peers: args.peers, seed: args.seed, maxHolders: args.maxHolders, adaptivePoll: args.adaptivePoll, partLength: args.partLength, size: args.size });
  const config = args.limitSeconds === undefined ? built : { ...built, limitMs: args.limitSeconds * 1000 };
  const progress = (p: SimProgress): void =>
    void process.stderr.write(
      `sim: ${p.simulatedSeconds.toFixed(1)} s simulated, ${p.events} events, ${p.cpuSeconds.toFixed(1)} s CPU, ${p.waiting} still downloading, ${p.refused} refused, ${p.queued} queued, ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB resident\n`,
    );
  const result = simulate(config, args.progress ? progress : undefined);
  const label = `${sc.name}${args.peers ? `-${args.peers}` : ''}`;
  const about = `${sc.about}; seed ${args.seed}, max-holders ${args.maxHolders || 'all'}, ${args.adaptivePoll ? 'adaptive' : 'fixed 1 s'} polling, ${config.fileSize} B in parts of ${config.partLength} B`;
  if (args.json) process.stdout.write(`${JSON.stringify(jsonReport(label, result))}\n`);
  else process.stdout.write(`${textReport(label, about, result)}\n`);
  if (args.out) {
    const files = writePlots(args.out, label, result);
    if (!args.json) process.stdout.write(`plots: ${files.join(', ')}\n`);
  }
  if (args.compare) {
    const bench = JSON.parse(readFileSync(args.compare, 'utf8')) as BenchSummary;
    process.stdout.write(`\n${compareReport(result, bench)}\n`);
  }
}

main(process.argv.slice(2));
