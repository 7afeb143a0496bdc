#!/usr/bin/env node
// `npm run build`: compiles the product sources to dist/ with tsc (tsconfig.build.json),
// copies the files tsc does not emit (plain-JavaScript thread entries, SQL migrations), builds
// the web interface into dist/web (tsc, then Vite) and
// writes dist/BUILD last. bin/evidock.js runs dist/ only while BUILD is newer than every
// source file: an edited checkout is told to build rather than run stale code.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import { SOURCE_DIRS } from '../bin/dist-freshness.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });

let copied = 0;
const copyAssets = (dir) => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) copyAssets(path);
    else if (/\.(js|sql)$/.test(entry.name)) {
      const target = join(dist, relative(root, path));
      mkdirSync(dirname(target), { recursive: true });
      cpSync(path, target);
      copied++;
    }
  }
};
for (const dir of SOURCE_DIRS) if (dir !== 'web' && existsSync(join(root, dir))) copyAssets(join(root, dir));

// The web interface: type-checked on its own (DOM, JSX), then bundled by Vite into dist/web.
execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'web', 'tsconfig.json')], { stdio: 'inherit' });
execFileSync(process.execPath, [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', join(root, 'web', 'vite.config.ts')], { stdio: 'inherit', cwd: root });
// Compressed once here, so the server sends .br/.gz without compressing per request (@fastify/static preCompressed).
const assets = join(dist, 'web', 'assets');
for (const name of readdirSync(assets)) {
  if (!/\.(js|css|svg)$/.test(name)) continue;
  const body = readFileSync(join(assets, name));
  writeFileSync(join(assets, `${name}.br`), brotliCompressSync(body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11 } }));
  writeFileSync(join(assets, `${name}.gz`), gzipSync(body, { level: 9 }));
}
writeFileSync(join(dist, 'BUILD'), `${new Date().toISOString()}\n`);
console.log(`build: dist/ compiled from ${SOURCE_DIRS.join(', ')} (+${copied} plain files; web interface in dist/web)`);
