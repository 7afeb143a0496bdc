#!/usr/bin/env node
// The `evidock` command. It runs the compiled build in dist/ (`npm run build`; `npm test`
// and `npm run demo` build it first), never the TypeScript sources through a loader: what a
// workstation runs is what was built and tested. A build older than any source file is
// refused rather than run stale.
//
// On a Node.js older than the pinned LTS (.node-version) it hands itself to the pinned one
// that scripts/node.sh installed, so `npx evidock` and pm2 work whatever the machine's
// default node is.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isSupportedNode, pinnedNodeVersion, supportedNodePath } from '../config/node-runtime.js';
import { distIsFresh } from './dist-freshness.js';

const EXIT_SOFTWARE = 70;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fail = (zh, en) => {
  process.stderr.write(`evidock: ${zh}\nevidock: ${en}\n`);
  process.exit(EXIT_SOFTWARE);
};

if (!isSupportedNode(process.versions.node)) {
  const node = supportedNodePath();
  if (!node) {
    fail(
      `需要 Node.js ${pinnedNodeVersion()}（当前为 ${process.versions.node}）：运行一次 npm run demo 或 npm test 即可安装`,
      `needs Node.js ${pinnedNodeVersion()} (this is ${process.versions.node}): run \`npm run demo\` or \`npm test\` once to install it`,
    );
  }
  // The child is the real process. Under setpriv --pdeathsig it dies with this one even when
  // this one is SIGKILLed (as workers/parent-death.ts starts the transcode children), and it
  // gets the signals pm2 or the operator send this one.
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
  const argv = [fileURLToPath(import.meta.url), ...process.argv.slice(2)];
  const child = setpriv
    ? spawn(setpriv, ['--pdeathsig', 'KILL', '--', node, ...argv], { stdio: 'inherit' })
    : spawn(node, argv, { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => (signal ? process.kill(process.pid, signal) : process.exit(code ?? 1)));
} else {
  if (!distIsFresh(root)) {
    fail('dist/ 缺失或比源代码旧：请先运行 npm run build', 'dist/ is missing or older than the sources: run `npm run build` first');
  }
  const { main } = await import('../dist/daemon/cli.js');
  const code = await main(process.argv);
  // BullMQ and pg keep handles open; exit explicitly once the command is done.
  process.exit(code);
}
