/**
 * Headless Debian chromium driven by playwright-core, for the HTML report tests.
 * The flags keep Chromium off the network entirely (no background fetches, no
 * component updates, no QUIC): tests only ever touch 127.0.0.1 and file: URLs.
 */
import { which } from './binaries.ts';

export const chromiumPath = which('chromium') ?? which('chromium-browser');

type Playwright = typeof import('playwright-core');

async function loadPlaywright(): Promise<Playwright | undefined> {
  try {
    return await import('playwright-core');
  } catch {
    return undefined;
  }
}

export const playwright = await loadPlaywright();

export const browserSkipReason =
  chromiumPath === undefined
    ? 'chromium not installed (apt-get install chromium)'
    : playwright === undefined
      ? 'playwright-core not installed (npm ci)'
      : undefined;

export const OFFLINE_CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
];

export function launchBrowser(): ReturnType<Playwright['chromium']['launch']> {
  return playwright!.chromium.launch({ executablePath: chromiumPath!, headless: true, args: OFFLINE_CHROMIUM_ARGS });
}
