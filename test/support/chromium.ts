/**
 * The one way tests and benchmarks start a browser: playwright-core (which never
 * downloads one) driving, in this order,
 *   1. the executable named by CHROMIUM_PATH,
 *   2. Debian's /usr/bin/chromium if it exists,
 *   3. the Chromium shipped inside the @sparticuz/chromium devDependency
 *      (unpacked to /tmp on first use), so `npm ci && npm test` needs no apt-get.
 * A browser that cannot start is an error: browser tests fail, they never skip.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

const DEBIAN_CHROMIUM = '/usr/bin/chromium';
const COMMON_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
/**
 * @sparticuz/chromium's flags are made for serverless sandboxes. Two would turn
 * off the same-origin policy the dashboard is tested under; two would put every
 * page in one process (then a page's CPU figure would be every page's); the GPU
 * ones emulate a GPU in software (SwiftShader), which makes canvas drawing cost
 * more than plain software raster does with --disable-gpu. All dropped, so the
 * packaged browser runs like Debian's with COMMON_ARGS.
 */
const UNSAFE = new Set([
  '--disable-web-security',
  '--allow-running-insecure-content',
  '--single-process',
  '--no-zygote',
  '--use-gl=angle',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--ignore-gpu-blocklist',
  '--in-process-gpu',
]);

export interface BrowserChoice {
  readonly executablePath: string;
  readonly args: string[];
  /** Where it came from, for logs and benchmark tables. */
  readonly source: 'CHROMIUM_PATH' | 'debian' | '@sparticuz/chromium';
}

export async function chooseChromium(env: NodeJS.ProcessEnv = process.env): Promise<BrowserChoice> {
  const fromEnv = env['CHROMIUM_PATH'];
  if (fromEnv) return { executablePath: fromEnv, args: COMMON_ARGS, source: 'CHROMIUM_PATH' };
  if (existsSync(DEBIAN_CHROMIUM)) return { executablePath: DEBIAN_CHROMIUM, args: COMMON_ARGS, source: 'debian' };
  const { default: packaged } = await import('@sparticuz/chromium');
  const args = packaged.args.filter((a) => !UNSAFE.has(a) && !a.startsWith('--headless'));
  return { executablePath: await packaged.executablePath(), args: [...new Set([...args, ...COMMON_ARGS])], source: '@sparticuz/chromium' };
}

/** Starts a headless Chromium; throws (failing the caller) if none can start. */
export async function launchChromium(): Promise<Browser> {
  const choice = await chooseChromium();
  try {
    return await chromium.launch({ executablePath: choice.executablePath, args: choice.args, headless: true });
  } catch (err) {
    throw new Error(`cannot start Chromium from ${choice.source} (${choice.executablePath}): ${(err as Error).message.split('\n')[0]}`);
  }
}
