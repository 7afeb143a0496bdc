#!/usr/bin/env node
// `npm run build`: compiles the product sources to dist/ with tsc (tsconfig.build.json),
// copies the files tsc does not emit (plain-JavaScript thread entries, SQL migrations) and
// writes dist/BUILD last. bin/evidock.js runs dist/ only while BUILD is newer than every
// source file: an edited checkout is told to build rather than run stale code.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
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
for (const dir of SOURCE_DIRS) if (existsSync(join(root, dir))) copyAssets(join(root, dir));
writeFileSync(join(dist, 'BUILD'), `${new Date().toISOString()}\n`);
console.log(`build: dist/ compiled from ${SOURCE_DIRS.join(', ')} (+${copied} plain files)`);
