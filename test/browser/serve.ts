import { context, type BuildOptions } from 'esbuild';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ServedPage {
  url: string;
  stop(): Promise<void>;
}

/**
 * Serves `files` (name to contents) from a fresh directory on 127.0.0.1, plus what `build`
 * bundles there on request. `stop()` closes the server and removes the directory.
 */
export async function servePage(files: Record<string, string | Buffer>, build: BuildOptions = {}): Promise<ServedPage> {
  const root = mkdtempSync(join(tmpdir(), 'cif-page-'));
  for (const [name, contents] of Object.entries(files)) writeFileSync(join(root, name), contents);
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
