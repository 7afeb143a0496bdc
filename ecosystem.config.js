// pm2 process file: `pm2 start ecosystem.config.js`.
// The package is ESM; pm2 loads this file with require(), which (Node >= 20.19) returns the
// module's named exports, so the apps are a named export (not `export default`).
//
// One daemon per workstation watches for recorders and serves this workstation's device
// queues (acquire, store, clear). WORKER_PROCESSES `evidock workers` processes serve the
// shared queues (catalog, metadata, transcode, fixity); each runs its transcodes in sandboxed
// children, `media.transcodeConcurrency` at a time. On a 2-core workstation, 1 is enough;
// a dedicated worker host runs only the workers app, with more processes.
// The archive server (evidock-serve) needs no recorder: run it on the workstation that
// custodians reach, or on its own hosts: any number of them may run against the same
// stack (behind nginx, each on its own address or port: EVIDOCK__server__port).
import { supportedNodePath } from './config/node-runtime.js';

const cwd = import.meta.dirname;
const WORKER_PROCESSES = 1;

const restartPolicy = {
  // The pinned LTS Node.js (.node-version) that scripts/node.sh installed when the machine's
  // is older; the processes run the compiled dist/ (bin/evidock.js refuses a stale build).
  interpreter: supportedNodePath() ?? 'node',
  cwd,
  // Evidence work must survive crashes: restart at once, and keep restarting. Open
  // sessions and queued jobs resume where they stopped.
  autorestart: true,
  max_restarts: 1000,
  restart_delay: 2000,
  // On SIGTERM the jobs in flight stop at a safe point and go back to their queues; this is
  // only the limit for a process that is stuck (a hung USB read is given up after 2 s).
  kill_timeout: 30000,
  env: { NODE_ENV: 'production' },
};

export const apps = [
  {
    name: 'evidock-daemon',
    script: 'bin/evidock.js',
    args: 'daemon --device-only',
    max_memory_restart: '400M',
    ...restartPolicy,
  },
  {
    name: 'evidock-workers',
    script: 'bin/evidock.js',
    args: 'workers',
    instances: WORKER_PROCESSES,
    exec_mode: 'fork',
    max_memory_restart: '1G',
    ...restartPolicy,
  },
  {
    name: 'evidock-serve',
    script: 'bin/evidock.js',
    args: 'serve',
    exec_mode: 'fork',
    max_memory_restart: '600M',
    ...restartPolicy,
    // SIGTERM: requests in flight finish within server.shutdownSeconds.
    kill_timeout: 15000,
  },
];
