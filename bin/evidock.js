#!/usr/bin/env node
// The `evidock` command. It runs the compiled sources in dist/ (`npm run build`) while that
// build is newer than every source file, and the TypeScript sources through tsx otherwise,
// so a fresh edit never runs stale code and a checkout works without a build step. The
// build saves each process tsx's loader thread and transpiled sources (≈ 30 MiB).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distIsFresh } from './dist-freshness.js';

let main;
if (distIsFresh(join(dirname(fileURLToPath(import.meta.url)), '..'))) {
  ({ main } = await import('../dist/daemon/cli.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../daemon/cli.ts'));
}
const code = await main(process.argv);
// BullMQ and pg keep handles open; exit explicitly once the command is done.
process.exit(code);
