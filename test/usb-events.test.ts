import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../config/config.loader.ts';

// usb-detection's native monitor made a process that exits or crashes while it runs hang
// for good (pm2 then never restarts the daemon), and one that exits right after
// stopMonitoring abort. The adapter keeps the monitor in a child process; these run a
// process that uses it the way the daemon does and see how it ends.
const ADAPTER = JSON.stringify(resolve(REPO_ROOT, 'daemon/usb-events.adapter.ts'));

function runWithMonitor(body: string): Promise<{ code: number | null; signal: string | null; out: string }> {
  const script = `
import { startUsbEvents } from ${ADAPTER};
const usb = await startUsbEvents({ attached() {}, detached() {} });
process.stdout.write(usb ? 'started\\n' : 'unavailable\\n');
${body}
`;
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    // A hang is the failure being tested for; well past any normal start and exit.
    const guard = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      done({ code, signal, out });
    });
  });
}

describe('USB listener process', () => {
  it('a clean stop after close() exits 0', async () => {
    const r = await runWithMonitor(`await usb?.close(); process.exit(0);`);
    expect(r.out).toContain('started');
    expect(r, r.out).toMatchObject({ code: 0, signal: null });
  }, 60_000);

  it('process.exit while the monitor runs exits instead of hanging', async () => {
    const r = await runWithMonitor(`process.exit(3);`);
    expect(r.out).toContain('started');
    expect(r, r.out).toMatchObject({ code: 3, signal: null });
  }, 60_000);

  it('an uncaught exception while the monitor runs ends the process with exit 1', async () => {
    const r = await runWithMonitor(`setTimeout(() => { throw new Error('crash while watching'); }, 50);`);
    expect(r.out).toContain('started');
    expect(r.out).toContain('crash while watching');
    expect(r, r.out).toMatchObject({ code: 1, signal: null });
  }, 60_000);
});
