import { existsSync } from 'node:fs';

/**
 * The binary of a browser for the tests: the one the environment variable `env` names, else the
 * first of `paths` there is; or an error that says how to install it.
 */
export function findBrowser(name: string, env: string, paths: readonly string[], install: string): string {
  const found = [process.env[env], ...paths].find((path): path is string => !!path && existsSync(path));
  if (found) return found;
  throw new Error(`No ${name} found for the browser tests. Install it with ${install} or set ${env} to a ${name} binary.`);
}
