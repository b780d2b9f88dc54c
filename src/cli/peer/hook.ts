/**
 * `--on-complete CMD` (as `transmission-cli -f`, `aria2c --on-download-complete`):
 * a shell command run when a download completes, with the file in its
 * environment. Its output goes to our stderr (stdout may carry --json events);
 * its failure is reported, never fatal; the peer waits for running hooks
 * (boundedly) before it exits.
 */
import { spawn } from 'node:child_process';
import { basename } from 'node:path';

export interface HookResult {
  readonly command: string;
  readonly md5: string;
  readonly path: string;
  readonly code: number | null;
  readonly signal: string | null;
  /** Could not be started at all (e.g. no shell). */
  readonly error?: string;
}

export function runHook(command: string, file: { path: string; md5: string; size?: number }): Promise<HookResult> {
  return new Promise((resolve) => {
    const env = {
      ...process.env,
      BUGTORRENT_PATH: file.path,
      BUGTORRENT_MD5: file.md5,
      BUGTORRENT_NAME: basename(file.path),
      ...(file.size !== undefined ? { BUGTORRENT_SIZE: String(file.size) } : {}),
    };
    const child = spawn('sh', ['-c', command], { env, stdio: ['ignore', 2, 2] });
    const base = { command, md5: file.md5, path: file.path };
    child.once('error', (err) => resolve({ ...base, code: null, signal: null, error: err.message }));
    child.once('exit', (code, signal) => resolve({ ...base, code, signal }));
  });
}

export function hookFailed(r: HookResult): boolean {
  return r.error !== undefined || r.code !== 0;
}

export function describeHook(r: HookResult): string {
  if (r.error !== undefined) return `on-complete for ${r.path}: could not run ${JSON.stringify(r.command)}: ${r.error}`;
  if (r.signal) return `on-complete for ${r.path}: ${JSON.stringify(r.command)} was killed by ${r.signal}`;
  return r.code === 0 ? `on-complete for ${r.path}: done` : `on-complete for ${r.path}: ${JSON.stringify(r.command)} exited with code ${r.code}`;
}
