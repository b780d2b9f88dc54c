/**
 * `bugtorrent <command>`: one commander program; each command lives in its own
 * module and registers itself here.
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { registerTrackerCommand } from './tracker-command.js';
import { registerPeerCommand } from './peer-command.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function buildProgram(): Command {
  const program = new Command('bugtorrent')
    .description('BitTorrent-style file distribution: a tracker, peers, and tools to watch them.')
    .version(version())
    .showHelpAfterError()
    .exitOverride((err) => {
      // commander exits by itself for --help/--version; a usage error should exit 2 like other CLIs.
      process.exit(err.exitCode === 0 ? 0 : 2);
    });
  registerTrackerCommand(program);
  registerPeerCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
