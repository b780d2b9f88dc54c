/**
 * `bugtorrent peer`: flags to a PeerConfig (peer/flags.ts), `startPeer`, and its
 * event stream rendered as text (a prompt in a terminal, progress bars with
 * --exit-when-done) or as JSON lines. How the process ends is session.ts's.
 */
import type { Command } from 'commander';
import { ArgumentError, BugTorrentError, ErrorCode, RemoteError } from '../errors.js';
import { createLogger } from '../log.js';
import { type DownloadEvent, type PeerEvent, type PeerHandle, startPeer } from '../peer/index.js';
import { type PeerPlan, type RawPeerOptions, addPeerOptions, mapPeerOptions } from './peer/flags.js';
import { formatHitList, groupHits } from './peer/hits.js';
import { isListenFailure, listenFailure } from './hints.js';
import { describeHook, hookFailed, runHook } from './peer/hook.js';
import { SETTINGS_HELP, applySettings, describeSettings } from './settings.js';
import { ProgressView } from './peer/progress.js';
import type { Prompt } from './peer/prompt.js';
import { type Output, type Renderer, STDIO, jsonRenderer, textRenderer } from './peer/render.js';
import { EXIT, Session } from './peer/session.js';
import { peersRecord } from './peer/status.js';

const EXAMPLES = `
Examples:
  share a file and seed it until Ctrl-C (or type "quit" at the prompt):
    bugtorrent peer --tracker 127.0.0.1:3000 --share ./image.iso
  download a file by md5, then log out and exit:
    bugtorrent peer --tracker 127.0.0.1:3000 --get 0123456789abcdef0123456789abcdef --exit-when-done
  download, seed for ten minutes at most 2 MB/s, events as JSON lines:
    bugtorrent peer --tracker 127.0.0.1:3000 --get MD5 --seed-time 600 --up-rate 2MB --json

Exit codes:
  0    done (every --get complete and verified, logged out)
  1    something asked for failed (a download, a share, the tracker, the folder)
  2    a bad flag or value
  130  interrupted (Ctrl-C) before the downloads finished, or left without the tracker's consent
  143  stopped by SIGTERM before the downloads finished
`;

export function registerPeerCommand(program: Command): void {
  const command = program.command('peer').description('run a peer: share files, search the tracker, download and seed');
  addPeerOptions(command)
    .addHelpText('after', EXAMPLES + SETTINGS_HELP)
    .action(async (_raw: RawPeerOptions, cmd: Command) => {
      try {
        applySettings(cmd);
        if (cmd.getOptionValue('printConfig')) {
          process.stdout.write(`${describeSettings(cmd)}\n`);
          return;
        }
        await runPeer(cmd.opts<RawPeerOptions>());
      } catch (err) {
        if (!(err instanceof ArgumentError)) throw err;
        process.stderr.write(`bugtorrent peer: ${err.message} (${err.code})\n`);
        process.exitCode = EXIT.USAGE;
      }
    });
}

async function runPeer(raw: RawPeerOptions): Promise<void> {
  const { config, plan } = mapPeerOptions(raw);
  const terminal = Boolean(process.stdout.isTTY) && !plan.json;
  // A prompt only when someone can answer it and nothing says when to stop.
  const interactive = terminal && Boolean(process.stdin.isTTY) && !plan.exitWhenDone;
  // In a terminal people read the events; logs are for --log-level (and for files, as JSON lines).
  const log = createLogger({ level: plan.logLevel ?? (terminal ? 'fatal' : 'info'), name: 'peer' });
  // Created once the peer runs (it draws from the peer's status).
  let progress: ProgressView | null = null;
  let prompt: Prompt | null = null;
  const output: Output = {
    line: (text) => (prompt ? prompt.output.line(text) : progress ? progress.log(text) : STDIO.line(text)),
    error: (text) => (prompt ? prompt.output.error(text) : STDIO.error(text)),
  };
  // --quiet: errors only.
  const render: Renderer = plan.json ? jsonRenderer() : textRenderer(plan.quiet ? { line: () => undefined, error: output.error } : output);
  let peer: PeerHandle | null = null;
  const hooks = new Set<Promise<unknown>>();
  const onEvent = (e: PeerEvent): void => {
    if (e.event === 'complete' && plan.onComplete) {
      const size = peer?.status().downloads.find((d) => d.md5 === e.md5)?.size;
      const run = runHook(plan.onComplete, { path: e.path, md5: e.md5, ...(size !== undefined ? { size } : {}) }).then((r) => {
        const failed = hookFailed(r);
        if (failed) render.error(new BugTorrentError(ErrorCode.HOOK_FAILED, describeHook(r)), e.md5);
        if (plan.json || !failed) render.record('hook', { md5: r.md5, path: r.path, command: r.command, code: r.code, signal: r.signal, ok: !failed }, describeHook(r));
      });
      hooks.add(run);
      void run.finally(() => hooks.delete(run));
    }
    if (e.event === 'started') progress?.add(e.md5, e.name, e.parts, e.have);
    if ((e.event === 'complete' || e.event === 'error') && 'md5' in e && e.md5) progress?.done(e.md5);
    render.event(e);
  };
  try {
    peer = await startPeer({ ...config, log }, onEvent);
  } catch (err) {
    if (err instanceof ArgumentError) throw err;
    if (isListenFailure(err) && !plan.json) output.error(listenFailure(err, 'bugtorrent peer', { host: config.ip4, port: config.port }, '--port'));
    else render.error(err);
    process.exitCode = EXIT.FAILED;
    return;
  }
  // Words for a person; with --json stdout carries events only, so they go to the log.
  const say = plan.json ? (text: string): void => log.warn(text) : (text: string): void => output.line(text);
  if (terminal && !interactive && !plan.quiet) {
    const running = peer;
    progress = new ProgressView(() => running.status());
  }
  const session = new Session(peer, render, log, say);
  session.onClose(() => progress?.stop());
  // From here on a signal ends the session its way (a prompt's Ctrl-C comes through readline as well).
  session.installSignals();
  if (peer.metrics) render.record('metrics', peer.metrics, `metrics at ${peer.metrics.url}`);
  if (plan.json && plan.peersIntervalMs > 0) {
    const timer = setInterval(() => render.record('peers', { t: peer!.uptime(), ...peersRecord(peer!.status()) }, ''), plan.peersIntervalMs);
    timer.unref();
    session.onClose(() => clearInterval(timer));
  }

  for (const path of plan.share) {
    try {
      await peer.share(path);
    } catch (err) {
      render.error(err);
      session.markFailed();
      // Asked to share something that cannot be shared: say so and stop, rather than run on sharing nothing.
      return void (await session.leave());
    }
  }
  // A --get that fails makes the exit code say so, however the peer is left.
  const outcomes: Promise<DownloadEvent>[] = plan.get.map((md5) => peer!.get(md5).then((o) => (o.type === 'complete' ? o : (session.markFailed(), o))));
  // Downloads interrupted earlier in this folder carry on too (they do not hold up --exit-when-done).
  for (const md5 of await peer.unfinished()) {
    if (!plan.get.includes(md5)) {
      log.info({ md5 }, 'resuming an interrupted download found in the folder');
      void peer.get(md5);
    }
  }
  if (plan.query) outcomes.push(...(await flood(peer, plan.query, render, session, plan.json ? () => undefined : say)));

  if (interactive) {
    // Loaded only here: readline and the prompt's modules are start-up time for every --json peer otherwise.
    const { Prompt } = await import('./peer/prompt.js');
    prompt = new Prompt(peer, session, () => render);
    await prompt.run();
    return;
  }
  const settled = await Promise.all(outcomes);
  if (settled.some((o) => o.type !== 'complete')) session.markFailed();
  if (plan.exitWhenDone) {
    await seedAfterwards(peer, plan, settled);
    // Hooks still running are waited for (a minute at most): they act on the file we are about to leave.
    await Promise.race([Promise.allSettled([...hooks]), new Promise((r) => setTimeout(r, 60_000).unref())]);
    await session.leave();
  }
  // Nothing was shared and nothing was obtained: there is nothing to seed, so there is no reason to stay.
  if (outcomes.length > 0 && plan.share.length === 0 && settled.every((o) => o.type !== 'complete')) await session.leave();
}

/**
 * --seed-time and --seed-ratio: keep seeding until either is met (as aria2c:
 * whichever comes first when both are given).
 */
async function seedAfterwards(peer: PeerHandle, plan: PeerPlan, outcomes: readonly DownloadEvent[]): Promise<void> {
  const time = plan.seedTimeMs > 0 ? plan.seedTimeMs : plan.seedRatio === null ? 0 : Infinity;
  if (time === 0 && plan.seedRatio === null) return;
  const done = outcomes.flatMap((o) => (o.type === 'complete' ? [o.md5] : []));
  const size = peer.status().downloads.filter((d) => done.includes(d.md5)).reduce((n, d) => n + d.size, 0);
  // The ratio of the whole session, as aria2c's: bytes sent over the size of what we downloaded.
  const ratioMet = (): boolean => plan.seedRatio !== null && peer.status().bandwidth.uploaded >= plan.seedRatio * size;
  const until = Date.now() + time;
  while (!ratioMet() && Date.now() < until) await new Promise((r) => setTimeout(r, Math.min(250, until - Date.now())));
}

/** --quer (and --get-hits: every distinct md5 found is downloaded as its first hit arrives). */
async function flood(peer: PeerHandle, query: NonNullable<PeerPlan['query']>, render: Renderer, session: Session, say: (text: string) => void): Promise<Promise<DownloadEvent>[]> {
  const downloads: Promise<DownloadEvent>[] = [];
  const fetching = new Set<string>();
  try {
    const hits = await peer.quer(query.text, {
      ttl: query.ttl,
      waitMs: query.waitMs,
      onHit: (hit) => {
        if (!query.getHits || fetching.has(hit.md5)) return;
        fetching.add(hit.md5);
        downloads.push(peer.getHit(hit.md5, hit.name));
      },
    });
    say(formatHitList(groupHits(hits)));
    if (query.getHits && hits.length === 0) {
      render.error(new RemoteError(ErrorCode.UNKNOWN_FILE, `no peer answered the search for ${JSON.stringify(query.text)}: nothing to get`));
      session.markFailed();
    }
  } catch (err) {
    render.error(err);
    session.markFailed();
  }
  return downloads;
}
