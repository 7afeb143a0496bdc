import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { distIsFresh } from '../bin/dist-freshness.js';
import { REPO_ROOT } from '../config/config.loader.ts';

/**
 * Tests start `bin/evidock.js` as real processes, and it runs only a fresh dist/ build: build
 * it first when the sources are newer (`npm test` has already; a direct `npx vitest` may not).
 */
export default function setup(): void {
  if (distIsFresh(REPO_ROOT)) return;
  execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build.mjs')], { stdio: 'inherit' });
}
