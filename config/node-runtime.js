// Which Node.js runs evidock. Plain JavaScript: bin/evidock.js and ecosystem.config.js use it
// before anything is compiled or loaded.
//
// The supported version is pinned in .node-version (an LTS line; Node 20 reached its end of
// life in April 2026). scripts/node.sh installs that build from the npm registry into the
// tools cache when the machine's node is older; this module finds it there.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The pinned version, e.g. "24.22.3". */
export function pinnedNodeVersion() {
  return readFileSync(join(ROOT, '.node-version'), 'utf8').trim();
}

/** Whether a Node.js version ("24.1.0") is of the pinned major line or newer. */
export function isSupportedNode(version) {
  return Number(version.split('.')[0]) >= Number(pinnedNodeVersion().split('.')[0]);
}

/**
 * The node executable evidock should run on: this one when it is supported, else
 * EVIDOCK_NODE, else the pinned build in the tools cache (EVIDOCK_TOOLS_CACHE, default
 * ~/.cache/evidock). null when none of them is there.
 */
export function supportedNodePath(env = process.env) {
  if (isSupportedNode(process.versions.node)) return process.execPath;
  if (env.EVIDOCK_NODE && existsSync(env.EVIDOCK_NODE)) return env.EVIDOCK_NODE;
  const cache = env.EVIDOCK_TOOLS_CACHE || join(homedir(), '.cache', 'evidock');
  const pinned = join(cache, 'node', `v${pinnedNodeVersion()}`, 'bin', 'node');
  return existsSync(pinned) ? pinned : null;
}
