import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IMPORT_DRIVERS, MOUNT_DRIVERS, probeVolume } from './driver-registry.ts';
import type { RecorderDriver, RecorderVolume } from './recorder.driver.ts';

let base: string;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'evidock-registry-'));
});

afterEach(() => {
  rmSync(base, { recursive: true, force: true });
});

describe('probeVolume', () => {
  it('offers mounts to the mass-storage driver only', async () => {
    const stick = join(base, 'STICK');
    mkdirSync(join(stick, 'Documents'), { recursive: true });
    const recorder = join(base, 'REC');
    mkdirSync(join(recorder, 'DCIM'), { recursive: true });
    expect(MOUNT_DRIVERS.map((d) => d.name)).toEqual(['mass-storage']);
    expect(await probeVolume(stick)).toBeNull();
    expect((await probeVolume(recorder))?.driver).toBe('mass-storage');
  });

  it('uses the directory driver for imports', async () => {
    const folder = join(base, 'export');
    mkdirSync(folder);
    expect(IMPORT_DRIVERS.map((d) => d.name)).toEqual(['directory']);
    expect((await probeVolume(folder, { serial: 'X' }, IMPORT_DRIVERS))?.driver).toBe('directory');
  });

  it('tries drivers in order, passing over one that throws', async () => {
    const calls: string[] = [];
    const volume = { driver: 'fake' } as RecorderVolume;
    const drivers: RecorderDriver[] = [
      { name: 'broken', probe: async () => (calls.push('broken'), Promise.reject(new Error('EIO'))) },
      { name: 'no', probe: async () => (calls.push('no'), null) },
      { name: 'yes', probe: async () => (calls.push('yes'), volume) },
      { name: 'never', probe: async () => (calls.push('never'), volume) },
    ];
    expect(await probeVolume(base, {}, drivers)).toBe(volume);
    expect(calls).toEqual(['broken', 'no', 'yes']);
    expect(await probeVolume(base, {}, [])).toBeNull();
  });
});
