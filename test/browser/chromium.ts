import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

// Debian's chromium package; never a downloaded browser. A missing one fails the suite (CI or not).
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A headless Chromium for one browser suite, and where its screenshots go. */
export interface ChromiumSession {
  browser: Browser;
  /** The screenshots folder, printed when the suite starts. */
  folder: string;
  /** Saves a screenshot of the page as `<n>-<step>.png` in the folder, numbered in order. */
  shot(page: Page, step: string): Promise<void>;
}

/** Launches Chromium for the suite `label` (in the folder's name); throws when it is not installed. */
export async function launchChromium(label: string): Promise<ChromiumSession> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM}: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH`,
    );
  }
  const folder = join(tmpdir(), `nest-warden-browser-${label}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(folder, { recursive: true });
  console.log(`browser test screenshots (${label}): ${folder}`);
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Chromium's sandbox refuses to run as root (CI containers); as any other user it stays on.
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
  let shots = 0;
  return {
    browser,
    folder,
    shot: async (page, step) => {
      shots += 1;
      await page.screenshot({ path: join(folder, `${String(shots).padStart(3, '0')}-${step}.png`), fullPage: true });
    },
  };
}
