/**
 * Where a command's settings come from, in this order of precedence:
 * flags > `BUGTORRENT_*` environment variables > a JSON config file
 * (`--config FILE` or `BUGTORRENT_CONFIG`) > defaults. Every flag has its
 * variable (`--up-rate` is `BUGTORRENT_UP_RATE`, `--no-upload` is
 * `BUGTORRENT_NO_UPLOAD`) and its config key (`"up-rate"` or `"upRate"`).
 * Values from the file and the environment go through the same parsers as
 * flags; `--print-config` shows each value with where it came from.
 */
import { readFileSync } from 'node:fs';
import type { Command, Option } from 'commander';
import { ArgumentError } from '../errors.js';

export const ENV_PREFIX = 'BUGTORRENT_';

/** `--up-rate` → `BUGTORRENT_UP_RATE`. */
export function envName(option: Option): string {
  return ENV_PREFIX + (option.long ?? '').replace(/^--/, '').replace(/-/g, '_').toUpperCase();
}

const TRUE = /^(1|true|yes|on)$/i;
const FALSE = /^(0|false|no|off)$/i;

/** Options that settings may set (not --help, --config or --print-config themselves). */
function settable(command: Command): Option[] {
  return command.options.filter((o) => o.long && !['--config', '--print-config', '--help', '--version'].includes(o.long));
}

function setFrom(command: Command, option: Option, raw: unknown, source: 'config' | 'env', where: string): void {
  const key = option.attributeName();
  const isFlag = !option.required && !option.optional;
  if (isFlag) {
    let on: boolean;
    if (typeof raw === 'boolean') on = raw;
    else if (typeof raw === 'string' && TRUE.test(raw.trim())) on = true;
    else if (typeof raw === 'string' && FALSE.test(raw.trim())) on = false;
    else throw new ArgumentError(`${where}: ${option.long} is on or off (true/false, 1/0), got ${JSON.stringify(raw)}`);
    // A negated flag (--no-upload) stores the opposite under its attribute (upload).
    command.setOptionValueWithSource(key, option.negate ? !on : on, source);
    return;
  }
  const values = Array.isArray(raw) ? raw : [raw];
  if (values.length === 0) return;
  let value: unknown = undefined;
  for (const v of values) {
    if (typeof v !== 'string' && typeof v !== 'number') throw new ArgumentError(`${where}: ${option.long} takes text or a number, got ${JSON.stringify(v)}`);
    const text = String(v);
    value = option.parseArg ? option.parseArg(text, value as never) : text;
  }
  command.setOptionValueWithSource(key, value, source);
}

/** Reads the config file (if any) and the environment into `command`'s values, below the flags. */
export function applySettings(command: Command, env: NodeJS.ProcessEnv = process.env): void {
  const options = settable(command);
  const path = (command.getOptionValue('config') as string | undefined) ?? env[`${ENV_PREFIX}CONFIG`];
  if (path) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new ArgumentError(`--config ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ArgumentError(`--config ${path}: a JSON object of settings is expected`);
    for (const [name, raw] of Object.entries(parsed)) {
      const option = options.find((o) => o.long === `--${name}` || o.attributeName() === name || (o.negate && o.long === `--no-${name}`));
      if (!option) throw new ArgumentError(`--config ${path}: unknown setting ${JSON.stringify(name)}`);
      // `"upload": false` means `--no-upload`, as `"no-upload": true` does.
      const value = option.negate && option.long !== `--${name}` && typeof raw === 'boolean' ? !raw : raw;
      const source = command.getOptionValueSource(option.attributeName());
      if (source === undefined || source === 'default') setFrom(command, option, value, 'config', `--config ${path}`);
    }
  }
  for (const option of options) {
    const name = envName(option);
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const source = command.getOptionValueSource(option.attributeName());
    if (source === undefined || source === 'default' || source === 'config') setFrom(command, option, raw, 'env', name);
  }
}

/** Every setting, its value and where it came from (`--print-config`). */
export function describeSettings(command: Command): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const option of settable(command)) {
    const key = option.attributeName();
    if (seen.has(key)) continue;
    seen.add(key);
    const stored = command.getOptionValue(key) as unknown;
    const source = command.getOptionValueSource(key) ?? 'unset';
    // A negated flag is shown as typed: --no-upload true means uploads are off.
    const name = option.long!;
    const value = option.negate && typeof stored === 'boolean' ? !stored : stored;
    lines.push(`${name.padEnd(18)} ${value === undefined ? '-' : JSON.stringify(value)}  (${source === 'cli' ? 'flag' : source === 'env' ? `env ${envName(option)}` : source})`);
  }
  return lines.join('\n');
}

/** The help text's paragraph on these sources. */
export const SETTINGS_HELP = `
Settings: every flag can also come from an environment variable (BUGTORRENT_ and the
flag in upper case, e.g. BUGTORRENT_UP_RATE=2MB, BUGTORRENT_NO_UPLOAD=1) or from a
JSON file given with --config FILE or BUGTORRENT_CONFIG (e.g. {"tracker": "10.0.0.1:3000",
"up-rate": "2MB", "share": ["a.iso"]}). Flags win over the environment, which wins over
the file, which wins over the defaults; --print-config shows the result and exits.
`;
