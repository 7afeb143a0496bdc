import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectoryDriver, mapGoneErrors, openDirectoryVolume, type DirectoryVolume } from './directory.driver.ts';
import { RecordingGoneError, UnsafePathError, VolumeGoneError, type RecordingListing } from './recorder.driver.ts';
import { SimulatedSdkDevice } from './simulated-sdk.ts';

const INVALID_UTF8_NAME = Buffer.from([0x80, 0xff, 0xd6, 0xd0, 0x2e, 0x4d, 0x50, 0x34]); // "\x80\xFF" + GBK "中" + ".MP4"

let base: string;
let root: string;
const mounted: string[] = [];

/** Whether this process may mount (root in a permissive container); mount tests skip otherwise. */
const canMount = (() => {
  const dir = mkdtempSync(join(tmpdir(), 'evidock-mountcheck-'));
  try {
    if (spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', dir]).status !== 0) return false;
    spawnSync('umount', [dir]);
    return true;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();

function mount(args: string[], target: string): void {
  execFileSync('mount', [...args, target]);
  mounted.push(target);
}

function write(rel: string, content: string | Buffer = 'x'): void {
  const path = join(root, rel);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function volume(hints = {}): Promise<DirectoryVolume> {
  const v = await openDirectoryVolume(root, hints);
  if (!v) throw new Error('no volume');
  return v;
}

function byPath(listing: RecordingListing) {
  return Object.fromEntries(listing.skipped.map((s) => [s.displayPath, s]));
}

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'evidock-dir-'));
  root = join(base, 'REC');
  mkdirSync(root);
});

afterEach(() => {
  while (mounted.length > 0) spawnSync('umount', ['-l', mounted.pop()!]);
  rmSync(base, { recursive: true, force: true });
});

describe('DirectoryDriver.probe', () => {
  it('returns a volume for any existing directory and null otherwise', async () => {
    const driver = new DirectoryDriver();
    expect(driver.name).toBe('directory');
    const v = await driver.probe(root);
    expect(v?.root).toBe(root);
    expect(v?.driver).toBe('directory');
    expect(v?.sdk).toBeNull();
    expect(await driver.probe(join(base, 'missing'))).toBeNull();
    write('file.MP4');
    expect(await driver.probe(join(root, 'file.MP4'))).toBeNull();
  });

  it('follows a symlinked mount path to its real directory', async () => {
    write('a.MP4');
    symlinkSync(root, join(base, 'link'));
    const v = await new DirectoryDriver().probe(join(base, 'link'));
    expect(v?.root).toBe(join(base, 'link'));
    expect((await v!.list()).recordings.map((r) => r.displayPath)).toEqual(['a.MP4']);
  });
});

describe('DirectoryVolume.list on a hostile volume', () => {
  beforeEach(() => {
    write('DCIM/100MEDIA/ZFY123_004512_20261121093000_0002.MP4', 'second');
    write('DCIM/ZFY123_004512_20261121080000_0001.MP4', 'first');
    write('DCIM/DCIM/ZFY123_004512_20261121100000_0003_IMP.MP4', 'third');
    write('执法记录_001.MP4', '中文');
    write('a..b.MP4', 'dots');
    write('bad\nname\u001b[31m.MP4', 'ctrl');
    write('empty.MP4', '');
    write('notes.txt', 'n');
    writeFileSync(Buffer.concat([Buffer.from(root + '/'), INVALID_UTF8_NAME]), 'not utf8');
    symlinkSync('/etc/passwd', join(root, 'passwd.MP4'));
    symlinkSync('/etc', join(root, 'etc'));
    symlinkSync('loop2', join(root, 'loop1'));
    symlinkSync('loop1', join(root, 'loop2'));
    execFileSync('mkfifo', [join(root, 'fifo.MP4')]);
    mkdirSync(join(root, '.Trashes'));
    write('.Trashes/501/old.MP4');
    write('System Volume Information/IndexerVolumeGuid');
    mkdirSync(join(root, '.Spotlight-V100'));
    write('._ZFY123_004512_20261121080000_0001.MP4');
    write('DCIM/.DS_Store');
  });

  it('lists regular files only, in recording order, with raw and display paths', async () => {
    const listing = await (await volume()).list();
    expect(listing.recordings.map((r) => r.displayPath)).toEqual([
      'DCIM/ZFY123_004512_20261121080000_0001.MP4',
      'DCIM/100MEDIA/ZFY123_004512_20261121093000_0002.MP4',
      'DCIM/DCIM/ZFY123_004512_20261121100000_0003_IMP.MP4',
      // Unparsed names follow, by raw bytes.
      'a..b.MP4',
      'bad\\x0Aname\\x1B[31m.MP4',
      'empty.MP4',
      'notes.txt',
      '\\x80\\xFF\\xD6\\xD0.MP4',
      '执法记录_001.MP4',
    ]);
    const first = listing.recordings[0]!;
    expect(first.rawPath).toEqual(Buffer.from('DCIM/ZFY123_004512_20261121080000_0001.MP4'));
    expect(first.size).toBe(5);
    expect(first.kind).toBe('video');
    expect(first.parsed).toMatchObject({ deviceId: 'ZFY123', officerId: '004512', sequence: 1, important: false });
    expect(listing.recordings[2]!.parsed?.important).toBe(true);
    expect(listing.recordings.find((r) => r.displayPath === 'notes.txt')?.kind).toBe('other');
    expect(listing.recordings.find((r) => r.displayPath === '执法记录_001.MP4')?.kind).toBe('video');
  });

  it('lists zero-byte files; the pipeline decides about them', async () => {
    const listing = await (await volume()).list();
    expect(listing.recordings.find((r) => r.displayPath === 'empty.MP4')?.size).toBe(0);
  });

  it('keeps names that are not UTF-8 as raw bytes that open again', async () => {
    const v = await volume();
    const listing = await v.list();
    const entry = listing.recordings.find((r) => r.displayPath === '\\x80\\xFF\\xD6\\xD0.MP4')!;
    expect(entry.rawPath).toEqual(INVALID_UTF8_NAME);
    expect((await readAll(await v.open(entry.rawPath, 0))).toString()).toBe('not utf8');
    const ctrl = listing.recordings.find((r) => r.displayPath.startsWith('bad'))!;
    expect(ctrl.rawPath.toString()).toBe('bad\nname\u001b[31m.MP4');
    expect((await readAll(await v.open(ctrl.rawPath, 0))).toString()).toBe('ctrl');
  });

  it('reports what it skipped and why', async () => {
    const skipped = byPath(await (await volume()).list());
    expect(skipped['passwd.MP4']).toMatchObject({ reason: 'symlink', detail: 'link to /etc/passwd' });
    expect(skipped['etc']).toMatchObject({ reason: 'symlink' });
    expect(skipped['loop1']).toMatchObject({ reason: 'symlink' });
    expect(skipped['loop2']).toMatchObject({ reason: 'symlink' });
    expect(skipped['fifo.MP4']).toMatchObject({ reason: 'not-regular-file', detail: 'named pipe' });
    expect(skipped['.Trashes']).toMatchObject({ reason: 'system-file' });
    expect(skipped['System Volume Information']).toMatchObject({ reason: 'system-file' });
    expect(skipped['.Spotlight-V100']).toMatchObject({ reason: 'system-file' });
    expect(skipped['._ZFY123_004512_20261121080000_0001.MP4']).toMatchObject({ reason: 'system-file' });
    expect(skipped['DCIM/.DS_Store']).toMatchObject({ reason: 'system-file' });
    // Nothing below a skipped folder is walked.
    expect(Object.keys(skipped).some((p) => p.startsWith('.Trashes/'))).toBe(false);
    expect(Object.keys(skipped)).toHaveLength(10);
  });

  it('skips device nodes', async () => {
    // Creating a device node needs privileges; /dev has real ones to look at.
    if (!existsSync('/dev/null')) return;
    const devVolume = await openDirectoryVolume('/dev');
    const listing = await devVolume!.list();
    expect(listing.skipped.find((s) => s.displayPath === 'null')).toMatchObject({ reason: 'not-regular-file', detail: 'character device' });
  });
});

describe('DirectoryVolume.open', () => {
  it('streams from an offset', async () => {
    write('DCIM/a.MP4', '0123456789');
    const v = await volume();
    expect((await readAll(await v.open(Buffer.from('DCIM/a.MP4'), 0))).toString()).toBe('0123456789');
    expect((await readAll(await v.open(Buffer.from('DCIM/a.MP4'), 4))).toString()).toBe('456789');
    expect((await readAll(await v.open(Buffer.from('DCIM/a.MP4'), 10))).length).toBe(0);
  });

  it('streams a large file in chunks of at most 1 MiB', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    write('big.MP4', big);
    const stream = await (await volume()).open(Buffer.from('big.MP4'), 0);
    let largest = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of stream) {
      largest = Math.max(largest, (chunk as Buffer).length);
      chunks.push(chunk as Buffer);
    }
    expect(largest).toBeLessThanOrEqual(1024 * 1024);
    expect(Buffer.concat(chunks).equals(big)).toBe(true);
  });

  it('refuses unsafe paths, symlinks and special files without blocking', async () => {
    write('ok.MP4');
    symlinkSync('/etc/passwd', join(root, 'passwd.MP4'));
    symlinkSync('/etc', join(root, 'etc'));
    symlinkSync('loop2', join(root, 'loop1'));
    symlinkSync('loop1', join(root, 'loop2'));
    execFileSync('mkfifo', [join(root, 'fifo.MP4')]);
    const v = await volume();
    for (const p of ['../REC/ok.MP4', '/etc/passwd', 'a/../ok.MP4', './ok.MP4', '', 'ok\u0000.MP4']) {
      await expect(v.open(Buffer.from(p), 0)).rejects.toThrow(UnsafePathError);
    }
    await expect(v.open(Buffer.from('passwd.MP4'), 0)).rejects.toThrow(UnsafePathError);
    await expect(v.open(Buffer.from('loop1'), 0)).rejects.toThrow(UnsafePathError);
    await expect(v.open(Buffer.from('etc/passwd'), 0)).rejects.toThrow(/outside the volume/);
    await expect(v.open(Buffer.from('fifo.MP4'), 0)).rejects.toThrow(/not a regular file/);
    await expect(v.open('ok.MP4' as unknown as Buffer, 0)).rejects.toThrow(UnsafePathError);
    await expect(v.open(Buffer.from('ok.MP4'), -1)).rejects.toThrow(RangeError);
    await expect(v.open(Buffer.from('ok.MP4'), 1.5)).rejects.toThrow(RangeError);
  });

  it('throws RecordingGoneError for a recording that is not there', async () => {
    const v = await volume();
    await expect(v.open(Buffer.from('missing.MP4'), 0)).rejects.toThrow(RecordingGoneError);
    write('file.MP4');
    await expect(v.open(Buffer.from('file.MP4/below'), 0)).rejects.toThrow(RecordingGoneError);
  });
});

describe('DirectoryVolume.stat and remove', () => {
  it('stats regular files and returns null for anything gone or not a file', async () => {
    write('a.MP4', 'abc');
    utimesSync(join(root, 'a.MP4'), 1_700_000_000, 1_700_000_000);
    symlinkSync('/etc/passwd', join(root, 'passwd.MP4'));
    const v = await volume();
    expect(await v.stat(Buffer.from('a.MP4'))).toEqual({ size: 3, mtimeMs: 1_700_000_000_000 });
    expect(await v.stat(Buffer.from('missing.MP4'))).toBeNull();
    expect(await v.stat(Buffer.from('passwd.MP4'))).toBeNull();
    await expect(v.stat(Buffer.from('../x'))).rejects.toThrow(UnsafePathError);
  });

  it('removes a recording, and a second removal is a warning, not an error', async () => {
    write('DCIM/a.MP4', 'abc');
    const v = await volume();
    await v.remove(Buffer.from('DCIM/a.MP4'));
    expect(existsSync(join(root, 'DCIM/a.MP4'))).toBe(false);
    expect(existsSync(join(root, 'DCIM'))).toBe(true);
    await expect(v.remove(Buffer.from('DCIM/a.MP4'))).resolves.toBeUndefined();
  });

  it('never removes through a symlink or outside the volume', async () => {
    const outside = join(base, 'outside.MP4');
    writeFileSync(outside, 'keep');
    mkdirSync(join(base, 'elsewhere'));
    writeFileSync(join(base, 'elsewhere', 'x.MP4'), 'keep');
    symlinkSync(outside, join(root, 'link.MP4'));
    symlinkSync(join(base, 'elsewhere'), join(root, 'dirlink'));
    execFileSync('mkfifo', [join(root, 'fifo.MP4')]);
    const v = await volume();
    await expect(v.remove(Buffer.from('link.MP4'))).rejects.toThrow(UnsafePathError);
    await expect(v.remove(Buffer.from('dirlink/x.MP4'))).rejects.toThrow(UnsafePathError);
    await expect(v.remove(Buffer.from('fifo.MP4'))).rejects.toThrow(UnsafePathError);
    await expect(v.remove(Buffer.from('../outside.MP4'))).rejects.toThrow(UnsafePathError);
    expect(readFileSync(outside, 'utf8')).toBe('keep');
    expect(readFileSync(join(base, 'elsewhere', 'x.MP4'), 'utf8')).toBe('keep');
    expect(existsSync(join(root, 'link.MP4'))).toBe(true);
  });

  it('removes files with names that are not UTF-8', async () => {
    writeFileSync(Buffer.concat([Buffer.from(root + '/'), INVALID_UTF8_NAME]), 'x');
    const v = await volume();
    await v.remove(INVALID_UTF8_NAME);
    expect((await v.list()).recordings).toEqual([]);
  });
});

describe('a simulated unplug', () => {
  it('makes the volume absent and its recordings gone', async () => {
    write('DCIM/a.MP4', 'abc');
    const v = await volume();
    expect(await v.isPresent()).toBe(true);
    renameSync(root, join(base, 'unplugged'));
    expect(await v.isPresent()).toBe(false);
    await expect(v.open(Buffer.from('DCIM/a.MP4'), 0)).rejects.toThrow(RecordingGoneError);
    expect(await v.stat(Buffer.from('DCIM/a.MP4'))).toBeNull();
    await expect(v.list()).rejects.toThrow(VolumeGoneError);
    await expect(v.list()).rejects.toThrow(RecordingGoneError);
    await expect(v.remove(Buffer.from('DCIM/a.MP4'))).rejects.toThrow(VolumeGoneError);
    await expect(v.identify()).rejects.toThrow(VolumeGoneError);
  });

  it('does not mistake another directory at the same path for the same volume', async () => {
    write('DCIM/a.MP4', 'abc');
    const v = await volume();
    renameSync(root, join(base, 'unplugged'));
    mkdirSync(root);
    write('DCIM/a.MP4', 'other recorder');
    expect(await v.isPresent()).toBe(false);
    await expect(v.open(Buffer.from('DCIM/a.MP4'), 0)).rejects.toThrow(RecordingGoneError);
    expect(await v.stat(Buffer.from('DCIM/a.MP4'))).toBeNull();
  });

  it('does not mistake a directory removed and made again (its inode reused) for the same volume', async () => {
    write('DCIM/a.MP4', 'abc');
    const v = await volume();
    rmSync(root, { recursive: true });
    mkdirSync(root);
    write('DCIM/a.MP4', 'other recorder');
    expect(await v.isPresent()).toBe(false);
    expect(await v.stat(Buffer.from('DCIM/a.MP4'))).toBeNull();
  });

  it('keeps an open stream readable when the file is removed (the bytes were already opened)', async () => {
    write('a.MP4', 'abc');
    const v = await volume();
    const stream = await v.open(Buffer.from('a.MP4'), 0);
    rmSync(join(root, 'a.MP4'));
    expect((await readAll(stream)).toString()).toBe('abc');
  });

  it('closes the file when the consumer stops early', async () => {
    write('big.MP4', Buffer.alloc(4 * 1024 * 1024));
    const v = await volume();
    const openFds = () => readdirSync('/proc/self/fd').length;
    const before = openFds();
    const stream = await v.open(Buffer.from('big.MP4'), 0);
    expect(openFds()).toBe(before + 1);
    for await (const _chunk of stream) break;
    expect(stream.destroyed).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(openFds()).toBe(before);
  });
});

describe('DirectoryVolume.identify', () => {
  it('names a bare directory after its real path, stably', async () => {
    const a = await (await volume()).identify();
    const b = await (await volume()).identify();
    expect(a.serial).toMatch(/^DIR-[0-9A-F]{12}$/);
    expect(a).toEqual(b);
    expect(a).toMatchObject({ source: 'volume-label', officerId: null, deviceFileCount: null });
    mkdirSync(join(base, 'OTHER'));
    const other = await (await openDirectoryVolume(join(base, 'OTHER')))!.identify();
    expect(other.serial).not.toBe(a.serial);
  });

  it('takes the serial and officer from operator hints', async () => {
    const id = await (await volume({ serial: 'ZFY0042', officerId: '004512' })).identify();
    expect(id).toMatchObject({ serial: 'ZFY0042', officerId: '004512', source: 'operator' });
  });

  it('reads EVIDOCK.ID, and hints still win', async () => {
    write('EVIDOCK.ID', JSON.stringify({ serial: 'FILE-1', officerId: '777', unitName: '稽查科' }));
    expect(await (await volume()).identify()).toMatchObject({ serial: 'FILE-1', officerId: '777', unitName: '稽查科', source: 'volume-file' });
    expect(await (await volume({ serial: 'HINT' })).identify()).toMatchObject({ serial: 'HINT', officerId: '777', source: 'operator' });
  });

  it('reads a recorder device info file case-insensitively, in GBK too', async () => {
    const gbk = Buffer.concat([Buffer.from('SN=DSJ77\r\nPoliceID=880011\r\nPoliceName='), Buffer.from([0xd5, 0xc5, 0xc8, 0xfd]), Buffer.from('\r\n')]);
    write('system/Id.Txt', gbk);
    expect(await (await volume()).identify()).toMatchObject({ serial: 'DSJ77', officerId: '880011', officerName: '张三', source: 'volume-file' });
  });

  it('ignores identity files that are links, FIFOs, too big or not understood', async () => {
    symlinkSync('/etc/hostname', join(root, 'DEVICE.TXT'));
    execFileSync('mkfifo', [join(root, 'DEVINFO.TXT')]);
    write('DEVICEINFO.TXT', `SN=${'A'.repeat(70 * 1024)}`);
    write('EVIDOCK.ID', 'not json');
    const id = await (await volume()).identify();
    expect(id.serial).toMatch(/^DIR-/);
  });

  it('uses an SDK handed over in the hints', async () => {
    const sdk = new SimulatedSdkDevice(
      { productSerial: 'SDK-9', officerNumber: '1', officerName: null, unitNumber: null, unitName: null, vendor: 'V', model: null },
      0,
      '123456',
      { fileCount: 4 },
    );
    const v = await volume({ sdk });
    expect(v.sdk).toBe(sdk);
    expect(await v.identify()).toMatchObject({ serial: 'SDK-9', source: 'sdk', deviceFileCount: 4, vendor: 'V' });
  });

  it('does not list identity files as recordings', async () => {
    write('EVIDOCK.ID', '{"serial":"X"}');
    write('DevInfo.txt', 'SN=1');
    write('SYSTEM/ID.TXT', 'SN=1');
    write('DCIM/ID.TXT', 'a recording folder may hold anything');
    const listing = await (await volume()).list();
    expect(listing.recordings.map((r) => r.displayPath)).toEqual(['DCIM/ID.TXT']);
    expect(listing.skipped.filter((s) => s.detail === 'recorder identity file').map((s) => s.displayPath)).toEqual(['DevInfo.txt', 'EVIDOCK.ID', 'SYSTEM/ID.TXT']);
  });
});

describe('file systems inside a volume', () => {
  it.runIf(canMount)('does not walk into another file system mounted below the root', async () => {
    write('DCIM/a.MP4');
    mkdirSync(join(root, 'other'));
    mount(['-t', 'tmpfs', 'tmpfs'], join(root, 'other'));
    writeFileSync(join(root, 'other', 'b.MP4'), 'x');
    const listing = await (await volume()).list();
    expect(listing.recordings.map((r) => r.displayPath)).toEqual(['DCIM/a.MP4']);
    expect(byPath(listing)['other']).toMatchObject({ reason: 'outside-volume', detail: 'another file system is mounted here' });
  });

  it.runIf(canMount)('stops at a bind mount of the root inside itself', async () => {
    write('DCIM/a.MP4');
    mkdirSync(join(root, 'DCIM', 'again'));
    mount(['--bind', root], join(root, 'DCIM', 'again'));
    const listing = await (await volume()).list();
    expect(listing.recordings.map((r) => r.displayPath)).toEqual(['DCIM/a.MP4']);
    expect(byPath(listing)['DCIM/again']).toMatchObject({ reason: 'outside-volume' });
  });

  it.runIf(canMount)('notices an unmount under a volume object as the volume being gone', async () => {
    mount(['-t', 'tmpfs', 'tmpfs'], root);
    write('DCIM/a.MP4', 'abc');
    const v = await volume();
    expect(await v.isPresent()).toBe(true);
    spawnSync('umount', [root]);
    mounted.pop();
    // The mount point directory is still there, but it is no longer the volume.
    expect(existsSync(root)).toBe(true);
    expect(await v.isPresent()).toBe(false);
    await expect(v.open(Buffer.from('DCIM/a.MP4'), 0)).rejects.toThrow(RecordingGoneError);
  });
});

describe('mapGoneErrors', () => {
  function failing(code: string): Readable {
    let sent = false;
    return new Readable({
      read() {
        if (!sent) {
          sent = true;
          this.push(Buffer.from('partial'));
        } else {
          this.destroy(Object.assign(new Error(`${code}: i/o error`), { code }));
        }
      },
    });
  }

  it('turns a device error mid-read into RecordingGoneError, after the bytes that were read', async () => {
    const chunks: Buffer[] = [];
    const err = await (async () => {
      for await (const chunk of mapGoneErrors(failing('EIO'), 'DCIM/a.MP4')) chunks.push(chunk);
    })().catch((e: unknown) => e);
    expect(Buffer.concat(chunks).toString()).toBe('partial');
    expect(err).toBeInstanceOf(RecordingGoneError);
    expect((err as RecordingGoneError).displayPath).toBe('DCIM/a.MP4');
    expect((err as Error).cause).toMatchObject({ code: 'EIO' });
  });

  it('passes other errors through unchanged', async () => {
    const err = await (async () => {
      for await (const _ of mapGoneErrors(failing('EACCES'), 'x')) void _;
    })().catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(RecordingGoneError);
    expect(err).toMatchObject({ code: 'EACCES' });
  });
});
