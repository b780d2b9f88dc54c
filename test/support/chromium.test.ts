import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { chooseChromium } from './chromium.js';

test('CHROMIUM_PATH wins over every other browser', async () => {
  const c = await chooseChromium({ CHROMIUM_PATH: '/opt/my-chromium/chrome' });
  assert.equal(c.source, 'CHROMIUM_PATH');
  assert.equal(c.executablePath, '/opt/my-chromium/chrome');
});

test('without CHROMIUM_PATH: Debian\'s if installed, else the packaged one, and it exists', async () => {
  const c = await chooseChromium({});
  assert.equal(c.source, existsSync('/usr/bin/chromium') ? 'debian' : '@sparticuz/chromium');
  assert.ok(existsSync(c.executablePath), c.executablePath);
  assert.ok(!c.args.includes('--disable-web-security'), 'the same-origin policy stays on');
});
