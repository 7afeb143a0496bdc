// pm2 process file: `pm2 start ecosystem.config.js`.
// The package is ESM; pm2 loads this file with require(), which on Node >= 20.19 returns
// the module's named exports, so the apps are a named export (not `export default`).
//
// One daemon per workstation watches for recorders and runs this workstation's device
// queues (acquire, store, clear) and the shared catalog queue.
const cwd = import.meta.dirname;

export const apps = [
  {
    name: 'evidock-daemon',
    script: 'bin/evidock.js',
    args: 'daemon',
    cwd,
    interpreter: 'node',
    // Evidence work must survive crashes: restart at once, and keep restarting. Open
    // sessions resume where they stopped.
    autorestart: true,
    max_restarts: 1000,
    restart_delay: 2000,
    // Let in-flight jobs reach a checkpoint on shutdown.
    kill_timeout: 30000,
    max_memory_restart: '400M',
    env: { NODE_ENV: 'production' },
  },
];
