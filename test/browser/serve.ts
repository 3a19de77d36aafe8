import { context, type BuildOptions } from 'esbuild';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestBrowser } from './browsers.js';
import { launchChromium, type Browser } from './chromium.js';
import { CONSOLE_COLLECTOR } from './webkit.js';

export interface ServedPage {
  url: string;
  stop(): Promise<void>;
}

/**
 * Serves `files` (name to contents) from a fresh directory on 127.0.0.1, plus what `build`
 * bundles there on request. `stop()` closes the server and removes the directory. Each HTML page
 * starts with `CONSOLE_COLLECTOR`, for the tests in WebKit, unless `collect` is false.
 */
export async function servePage(files: Record<string, string | Buffer>, build: BuildOptions = {}, collect = true): Promise<ServedPage> {
  const root = mkdtempSync(join(tmpdir(), 'cif-page-'));
  for (const [name, contents] of Object.entries(files)) {
    // After the doctype, which must come first to keep the page out of quirks mode.
    const page = collect && name.endsWith('.html') && typeof contents === 'string' ? contents.replace(/^(<!doctype html>)?/i, `$1${CONSOLE_COLLECTOR}`) : contents;
    writeFileSync(join(root, name), page);
  }
  const server = await context({ ...build, outdir: root, write: false, logLevel: 'silent' });
  const { port } = await server.serve({ servedir: root, host: '127.0.0.1', port: 0 });
  return {
    url: `http://127.0.0.1:${port}/`,
    async stop() {
      await server.dispose();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** What `useFixturePage` opened, readable once its `before` hook has run. */
export interface FixturePage<B extends TestBrowser = Browser> {
  readonly browser: B;
  readonly url: string;
}

/**
 * For the tests of one `describe`: serves `files` and, bundled for the browser, `fixtures/<name>.ts`
 * of each name in `fixtures` (as `<name>.js`), and launches Chromium, or what `launch` launches;
 * both are stopped after the tests.
 */
export function useFixturePages(files: Record<string, string>, fixtures: readonly string[], target?: string): FixturePage;
export function useFixturePages<B extends TestBrowser>(files: Record<string, string>, fixtures: readonly string[], target: string | undefined, launch: () => Promise<B>): FixturePage<B>;
export function useFixturePages(files: Record<string, string>, fixtures: readonly string[], target = 'es2020', launch: () => Promise<TestBrowser> = () => launchChromium()): FixturePage<TestBrowser> {
  let browser: TestBrowser | undefined;
  let served: ServedPage | undefined;
  before(async () => {
    served = await servePage(files, {
      entryPoints: fixtures.map((name) => fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url))),
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target,
    });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await served?.stop();
  });
  return {
    get browser() {
      return browser!;
    },
    get url() {
      return served!.url;
    },
  };
}

/** One page, `index.html`: `body`, then `fixtures/<name>.ts` bundled for the browser; in Chromium, or what `launch` launches. */
export function useFixturePage(name: string, options?: { body?: string; target?: string }): FixturePage;
export function useFixturePage<B extends TestBrowser>(name: string, options: { body?: string; target?: string; launch: () => Promise<B> }): FixturePage<B>;
export function useFixturePage(name: string, { body = '', target = 'es2020', launch }: { body?: string; target?: string; launch?: () => Promise<TestBrowser> } = {}): FixturePage<TestBrowser> {
  const files = { 'index.html': `<!doctype html><meta charset="utf-8">${body}<script src="${name}.js"></script>` };
  return useFixturePages(files, [name], target, launch ?? (() => launchChromium()));
}
