// Whether dist/ (scripts/build.mjs) is the build of the sources as they are now: its BUILD
// stamp is newer than every source file. Plain JavaScript, so checking costs no loader.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The folders whose sources dist/ is built from (scripts: the demo imports scripts/make-footage.ts). */
export const SOURCE_DIRS = ['archive', 'config', 'daemon', 'drivers', 'server', 'storage', 'workers', 'scripts', 'web'];

function newestSource(dir) {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (/\.(ts|js|sql)$/.test(entry.name)) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

export function distIsFresh(root) {
  const stamp = join(root, 'dist', 'BUILD');
  if (!existsSync(stamp)) return false;
  const built = statSync(stamp).mtimeMs;
  return SOURCE_DIRS.every((dir) => newestSource(join(root, dir)) < built);
}
