import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isRecorderFolderName, MassStorageDriver } from './mass-storage.driver.ts';
import type { ZfyInfo } from './recorder-sdk.ts';
import { VolumeGoneError, type ProbeHints } from './recorder.driver.ts';
import { SimulatedSdkDevice } from './simulated-sdk.ts';

let base: string;
let root: string;

function write(rel: string, content: string | Buffer = 'x'): void {
  const path = join(root, rel);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
}

async function probe(hints: ProbeHints = {}) {
  return new MassStorageDriver().probe(root, hints);
}

const usb = { vendorId: 0x1234, productId: 0x5678, serialNumber: 'USB-0001', manufacturer: 'Rec Co', product: 'Body Cam' };
const info: ZfyInfo = { productSerial: 'SDK-42', officerNumber: '000042', officerName: '王五', unitNumber: '5101', unitName: '稽查一科', vendor: 'Sim', model: 'S1' };

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'evidock-msc-'));
  root = join(base, 'NO_NAME');
  mkdirSync(root);
});

afterEach(() => {
  rmSync(base, { recursive: true, force: true });
});

describe('MassStorageDriver.probe', () => {
  it.each(['DCIM', 'dcim', 'Record', 'VIDEO', 'AUDIO', 'PHOTO', 'FILE'])('recognises a volume with %s', async (folder) => {
    mkdirSync(join(root, folder));
    const v = await probe();
    expect(v?.driver).toBe('mass-storage');
    expect(v?.root).toBe(root);
  });

  it('ignores volumes without recorder folders, a file named DCIM and a DCIM symlink', async () => {
    expect(await probe()).toBeNull();
    writeFileSync(join(root, 'DCIM'), 'not a folder');
    expect(await probe()).toBeNull();
    rmSync(join(root, 'DCIM'));
    mkdirSync(join(base, 'elsewhere'));
    symlinkSync(join(base, 'elsewhere'), join(root, 'DCIM'));
    expect(await probe()).toBeNull();
    mkdirSync(join(root, 'Documents'));
    expect(await probe()).toBeNull();
    expect(await new MassStorageDriver().probe(join(base, 'missing'))).toBeNull();
  });

  it('lists, opens, stats and removes through the directory volume', async () => {
    write('DCIM/100MEDIA/ZFY1_0001_20261121093000_0001.MP4', 'abc');
    const v = (await probe())!;
    const listing = await v.list();
    expect(listing.recordings.map((r) => r.displayPath)).toEqual(['DCIM/100MEDIA/ZFY1_0001_20261121093000_0001.MP4']);
    const raw = listing.recordings[0]!.rawPath;
    expect(await v.stat(raw)).toMatchObject({ size: 3 });
    const chunks: Buffer[] = [];
    for await (const c of await v.open(raw, 1)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('bc');
    await v.remove(raw);
    expect(await v.stat(raw)).toBeNull();
    expect(await v.isPresent()).toBe(true);
  });
});

describe('MassStorageVolume.identify', () => {
  it('asks the SDK first, with the device file count', async () => {
    mkdirSync(join(root, 'DCIM'));
    write('DEVICE.TXT', 'SN=FILE-1\nPoliceID=111');
    const sdk = new SimulatedSdkDevice(info, 0, '123456', { fileCount: 7 });
    const v = (await probe({ sdk, usb }))!;
    expect(v.sdk).toBe(sdk);
    expect(await v.identify()).toEqual({
      serial: 'SDK-42',
      vendor: 'Sim',
      model: 'S1',
      officerId: '000042',
      officerName: '王五',
      unitId: '5101',
      unitName: '稽查一科',
      source: 'sdk',
      deviceFileCount: 7,
    });
  });

  it('falls back to the device info file when the SDK fails', async () => {
    mkdirSync(join(root, 'DCIM'));
    write('DevInfo.txt', 'SN=FILE-1\r\nPoliceID=111\r\nUnitName=一科\r\n');
    const sdk = new SimulatedSdkDevice(info, 0, '123456');
    sdk.failOn('*');
    expect(await (await probe({ sdk }))!.identify()).toMatchObject({ serial: 'FILE-1', officerId: '111', unitName: '一科', source: 'volume-file', deviceFileCount: null });
  });

  it('guesses from GA/T 947 file names by majority', async () => {
    write('DCIM/ZFY9_000111_20261121093000_0001.MP4');
    write('DCIM/ZFY9_000111_20261121100000_0002.MP4');
    write('DCIM/ZFY9_000222_20261122100000_0003.MP4');
    write('DCIM/OTHER_000222_20261122110000_0004.MP4');
    write('DCIM/random.MP4');
    expect(await (await probe({ usb }))!.identify()).toMatchObject({ serial: 'ZFY9', officerId: '000111', source: 'filename', vendor: 'Rec Co', model: 'Body Cam' });
  });

  it('completes a file serial with an officer from file names', async () => {
    write('DEVICE.TXT', 'SN=FILE-1');
    write('DCIM/ZFY9_000111_20261121093000_0001.MP4');
    expect(await (await probe())!.identify()).toMatchObject({ serial: 'FILE-1', officerId: '000111', source: 'volume-file' });
  });

  it('uses the USB serial when the volume says nothing, then the volume name', async () => {
    write('DCIM/MOVI0001.AVI');
    expect(await (await probe({ usb }))!.identify()).toMatchObject({ serial: 'USB-0001', source: 'usb' });
    expect(await (await probe({ usb: { ...usb, serialNumber: null } }))!.identify()).toMatchObject({ serial: 'NO_NAME', source: 'volume-label' });
  });

  it('lets the device outrank an operator hint, so a re-probe cannot confirm the wrong recorder', async () => {
    write('DCIM/ZFY9_000111_20261121093000_0001.MP4');
    expect(await (await probe({ serial: 'EXPECTED' }))!.identify()).toMatchObject({ serial: 'ZFY9', source: 'filename' });
    rmSync(join(root, 'DCIM'), { recursive: true });
    mkdirSync(join(root, 'DCIM'));
    expect(await (await probe({ serial: 'EXPECTED', officerId: '5' }))!.identify()).toMatchObject({ serial: 'EXPECTED', source: 'operator', officerId: '5' });
  });

  it('asks the SDK once per docking', async () => {
    mkdirSync(join(root, 'DCIM'));
    const sdk = new SimulatedSdkDevice(info, 0, '123456');
    const v = (await probe({ sdk }))!;
    const [a, b] = await Promise.all([v.identify(), v.identify()]);
    expect(a).toBe(b);
    await v.identify();
    expect(sdk.calls.filter((c) => c.operation === 'GetZFYInfo')).toHaveLength(1);
  });

  it('throws VolumeGoneError when unplugged', async () => {
    mkdirSync(join(root, 'DCIM'));
    const v = (await probe())!;
    renameSync(root, join(base, 'away'));
    await expect(v.identify()).rejects.toThrow(VolumeGoneError);
    expect(await v.isPresent()).toBe(false);
    await expect(v.list()).rejects.toThrow(VolumeGoneError);
  });
});

describe('isRecorderFolderName', () => {
  it('matches recorder folders case-insensitively', () => {
    expect(isRecorderFolderName('dcim')).toBe(true);
    expect(isRecorderFolderName('Record')).toBe(true);
    expect(isRecorderFolderName('Documents')).toBe(false);
  });
});
