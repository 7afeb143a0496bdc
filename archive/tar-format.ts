/**
 * POSIX ustar headers, for handing an evidence package over as one file that every system
 * opens (`tar -xf`, 7-Zip, Windows' own tar) without a library on either side. Pure: the
 * adapter that reads the files streams header, bytes and padding in order.
 */

export const TAR_BLOCK = 512;

export class TarNameError extends Error {
  constructor(name: string) {
    super(`not a ustar name (ASCII, at most 100 bytes, relative): ${JSON.stringify(name)}`);
    this.name = 'TarNameError';
  }
}

/** The 512-byte header of a regular file. Names are the package's own (originals/<id>.mp4 …), never a user's. */
export function tarHeader(entry: { name: string; size: number; mtimeSeconds: number; mode?: number }): Buffer {
  const { name, size, mtimeSeconds } = entry;
  if (!/^[\x21-\x7e][\x20-\x7e]*$/.test(name) || Buffer.byteLength(name) > 100 || name.startsWith('/') || name.split('/').includes('..')) throw new TarNameError(name);
  if (!Number.isSafeInteger(size) || size < 0 || size > 0o77777777777) throw new RangeError(`tar entry size out of range: ${size}`);
  const h = Buffer.alloc(TAR_BLOCK, 0);
  const octal = (value: number, width: number, at: number) => h.write(`${value.toString(8).padStart(width - 1, '0')}\0`, at, width, 'ascii');
  h.write(name, 0, 100, 'ascii');
  octal(entry.mode ?? 0o644, 8, 100);
  octal(0, 8, 108); // uid
  octal(0, 8, 116); // gid
  octal(size, 12, 124);
  octal(Math.max(0, Math.floor(mtimeSeconds)), 12, 136);
  h.write('        ', 148, 8, 'ascii'); // the checksum counts itself as spaces
  h.write('0', 156, 1, 'ascii'); // regular file
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return h;
}

/** Zero bytes after an entry's data, to the next block. */
export function tarPadding(size: number): number {
  return (TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK;
}

/** Bytes of the whole archive: each entry's header, data and padding, then two zero blocks. */
export function tarSize(sizes: readonly number[]): number {
  return sizes.reduce((a, s) => a + TAR_BLOCK + s + tarPadding(s), 0) + 2 * TAR_BLOCK;
}
