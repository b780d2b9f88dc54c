/**
 * `bugtorrent <command>`: one commander program; each command lives in its own
 * module and registers itself here.
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Each command's module is loaded only when it can run: a peer's start-up does
 * not pay for the tracker, its store and the dashboard (~140 ms of CPU, and
 * nine peers starting together on two cores wait for each other's). Help
 * without a command lists them all.
 */
async function commandsFor(argv: string[]): Promise<((program: Command) => void)[]> {
  const loaders = {
    tracker: async () => (await import('./tracker-command.js')).registerTrackerCommand,
    peer: async () => (await import('./peer-command.js')).registerPeerCommand,
  };
  const named = argv[2];
  if (named === 'tracker' || named === 'peer') return [await loaders[named]()];
  return Promise.all([loaders.tracker(), loaders.peer()]);
}

export async function buildProgram(argv: string[] = process.argv): Promise<Command> {
  const program = new Command('bugtorrent')
    .description('BitTorrent-style file distribution: a tracker, peers, and tools to watch them.')
    .version(version())
    .showHelpAfterError()
    .exitOverride((err) => {
      // commander exits by itself for --help/--version; a usage error should exit 2 like other CLIs.
      process.exit(err.exitCode === 0 ? 0 : 2);
    });
  for (const register of await commandsFor(argv)) register(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await (await buildProgram(argv)).parseAsync(argv);
}
