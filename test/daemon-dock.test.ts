import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../config/config.loader.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { MassStorageDriver } from '../drivers/mass-storage.driver.ts';
import { SimulatedSdkDevice } from '../drivers/simulated-sdk.ts';
import { QueueName } from '../workers/job.types.ts';
import { createTestEnv, eventually, type TestEnv } from './support/test-env.ts';

describe('docking', () => {
  let env: TestEnv;
  let rt: Runtime;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    env = await createTestEnv('dock', {
      recorders: [{ serial: 'SN-GAT947-0001', officerId: '010203', officerName: '李四', unitId: 'YB-02' }],
      ingest: { backoffSeconds: 0.2, attempts: 8, spoolMinFreeMiB: 0, spoolRetryDelaySeconds: 1, unlockPassword: '123456' },
      watch: { usbDetection: false, settleMs: 300, depth: 2, mountRoots: [] },
    });
    rt = await env.runtime();
  });
  afterAll(async () => {
    children.forEach((c) => c.kill('SIGKILL'));
    await env?.cleanup();
  });

  it('a GA/T 947 recorder: SDK unlock, identity, clock offset recorded before the clock is set, missing files flagged', async () => {
    const sdk = new SimulatedSdkDevice(
      { productSerial: 'SN-GAT947-0001', officerNumber: '010203', officerName: '李四', unitNumber: 'YB-02', unitName: '某市医保局', vendor: 'SimCam', model: 'ZFY-X1' },
      -95_000,
      '123456',
      { fileCount: 3 },
    );
    await rt.dock.unlock(sdk);
    expect(sdk.massStorageEnabled).toBe(true);

    const mount = join(env.dir, 'sdk-volume');
    mkdirSync(join(mount, 'DCIM', '100MEDIA'), { recursive: true });
    for (const seq of [1, 2, 4]) {
      const path = join(mount, 'DCIM', '100MEDIA', `SN-GAT947-0001_010203_2026112109${seq}000_000${seq}.MP4`);
      writeFileSync(path, randomBytes(10_000 + seq));
      const end = new Date(Date.UTC(2026, 10, 21, 1, seq * 10 + 5));
      utimesSync(path, end, end);
    }
    const volume = (await new MassStorageDriver().probe(mount, { sdk }))!;
    rt.startWorkers([QueueName.Acquire, QueueName.Store, QueueName.Catalog, QueueName.Clear]);
    const session = await rt.dock.dock(volume);

    expect(session.recorderSerial).toBe('SN-GAT947-0001');
    expect(session.identity).toMatchObject({ officerId: '010203', source: 'sdk', deviceFileCount: 3 });
    expect(session.clockOffsetMs).toBeGreaterThan(-97_000);
    expect(session.clockOffsetMs).toBeLessThan(-93_000);
    expect(sdk.clockOffsetMs).toBe(0);
    const events = await rt.ledger.eventsFor({ sessionId: session.id });
    const clock = events.find((e) => e.type === 'CLOCK_OFFSET')!;
    expect(clock.details).toMatchObject({ synced: true });
    const gaps = events.filter((e) => e.type === 'GAP_DETECTED').map((e) => e.details.kind);
    expect(gaps).toEqual(['sequence']);
    expect(events.find((e) => e.type === 'RECORDER_UNREGISTERED')).toBeUndefined();

    const files = await eventually(async () => {
      const f = await rt.catalog.filesOfSession(session.id);
      return f.every((x) => x.stage === 'cleared') ? f : undefined;
    });
    const item = await rt.evidence.show(files[0]!.evidenceId!);
    expect(item.evidence).toMatchObject({ officerId: '010203', officerName: '李四', unitId: 'YB-02' });
    expect(item.evidence.flags).toContain('clock-offset');
    expect(item.evidence.flags).not.toContain('unregistered');
    // The next test's daemon must be the only process serving these queues.
    await rt.pool?.close();
  });

  it('the daemon notices a recorder mounted under a watched root and ingests it hands-off', async () => {
    const media = join(env.dir, 'media');
    mkdirSync(media, { recursive: true });
    const configFile = env.childEnv.EVIDOCK_CONFIG!;
    const daemon = spawn(process.execPath, [resolve(REPO_ROOT, 'bin/evidock.js'), 'daemon'], {
      env: { ...process.env, EVIDOCK_CONFIG: configFile, EVIDOCK__watch__mountRoots: JSON.stringify([media]) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(daemon);
    let output = '';
    daemon.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    daemon.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await eventually(async () => (output.includes('workstation') || output.includes('工作站') ? true : undefined), 30_000, 'daemon to start');

    const volume = join(media, 'officer', 'ZFY_REC_7');
    mkdirSync(join(volume, 'DCIM', '100MEDIA'), { recursive: true });
    for (const seq of [1, 2]) writeFileSync(join(volume, 'DCIM', '100MEDIA', `ZFY0777_445566_2026112110${seq}000_000${seq}.MP4`), randomBytes(50_000));

    const session = await eventually(async () => {
      const r = await rt.db.query<{ id: string }>(`SELECT id FROM dock_sessions WHERE mount_path = $1`, [volume]);
      return r.rows[0]?.id;
    }, 30_000, 'the daemon to dock the recorder');
    const files = await eventually(async () => {
      const f = await rt.catalog.filesOfSession(session);
      return f.length === 2 && f.every((x) => x.stage === 'cleared') ? f : undefined;
    }, 60_000, 'the files to be cleared');
    expect(files.map((f) => f.recorderSerial)).toEqual(['ZFY0777', 'ZFY0777']);
    expect(readdirSync(join(volume, 'DCIM', '100MEDIA'))).toEqual([]);
    await eventually(async () => (output.includes('ZFY0777') ? true : undefined), 10_000, 'the daemon to tell the operator');

    // With a daemon running, `evidock import --wait --json` hands the work to it and waits.
    const folder = join(env.dir, 'handoff');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'ZFY0888_445566_20261121113000_0001.MP4'), randomBytes(70_000));
    const importer = spawn(
      process.execPath,
      [resolve(REPO_ROOT, 'bin/evidock.js'), 'import', folder, '--serial', 'ZFY0888', '--case', 'YB-77', '--wait', '--json'],
      { env: { ...process.env, EVIDOCK_CONFIG: configFile }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(importer);
    let json = '';
    importer.stdout!.on('data', (d: Buffer) => (json += d.toString()));
    const importCode = await new Promise((r) => importer.on('exit', r));
    expect(importCode).toBe(0);
    const result = JSON.parse(json) as { session: string; files: Array<{ path: string; evidenceId: string; sha256: string; size: number; status: string }> };
    expect(result.files).toEqual([
      expect.objectContaining({ path: 'ZFY0888_445566_20261121113000_0001.MP4', size: 70_000, status: 'cleared', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }),
    ]);
    // The daemon's workers did the work: only the process that runs a session's jobs
    // announces its milestones, and the daemon did.
    await eventually(async () => (output.includes('ZFY0888') ? true : undefined), 10_000, 'the daemon to report the handed-off session');

    daemon.kill('SIGTERM');
    const code = await new Promise((r) => daemon.on('exit', r));
    expect(code).toBe(0);
  });

  it('SIGTERM with the USB listener on (the production default) ends the daemon with exit 0', async () => {
    // usb-detection's native monitor aborts a process that exits right after stopMonitoring
    // (exit 134) and hangs one that exits while it runs; pm2 and systemd would record every
    // clean stop as a crash. The daemon runs it in a child process (usb-events.adapter.ts).
    const usb = await import('usb-detection').then(() => true, () => false);
    expect(usb, 'the optional usb-detection module is installed here (libudev-dev from scripts/stack.sh)').toBe(true);
    const daemon = spawn(process.execPath, [resolve(REPO_ROOT, 'bin/evidock.js'), 'daemon', '--device-only'], {
      env: { ...process.env, EVIDOCK_CONFIG: env.childEnv.EVIDOCK_CONFIG!, EVIDOCK__logLevel: 'info', EVIDOCK__watch__usbDetection: 'true', EVIDOCK__watch__mountRoots: JSON.stringify([join(env.dir, 'no-media')]) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(daemon);
    let output = '';
    daemon.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    daemon.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await eventually(async () => (output.includes('"usb":true') ? true : undefined), 30_000, 'the daemon to watch with the USB listener');
    daemon.kill('SIGTERM');
    const code = await new Promise((r) => daemon.on('exit', (c, signal) => r(c ?? signal)));
    expect(code, output.slice(-2000)).toBe(0);
  });
});
