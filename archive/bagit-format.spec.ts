import { describe, expect, it } from 'vitest';
import { BagFormatError, bagInfoText, bagInfoValue, decodeManifestPath, encodeManifestPath, manifestText, parseBagInfo, parseManifest, payloadOxum } from './bagit-format.ts';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

describe('BagIt text formats (RFC 8493)', () => {
  it('percent-encodes CR, LF and % in manifest paths, and reads them back', () => {
    const odd = 'data/100%\r\nfile.mp4';
    expect(encodeManifestPath(odd)).toBe('data/100%25%0D%0Afile.mp4');
    expect(decodeManifestPath(encodeManifestPath(odd))).toBe(odd);
    expect(parseManifest('m', manifestText([{ path: odd, sha256: A }]))).toEqual(new Map([[odd, A]]));
  });

  it('writes manifests sorted, and refuses a line that is not a checksum and a path, or a path twice', () => {
    expect(manifestText([{ path: 'data/b', sha256: B }, { path: 'data/a', sha256: A }])).toBe(`${A}  data/a\n${B}  data/b\n`);
    expect(() => parseManifest('m', `${A}  data/a\nnot a line\n`)).toThrow(new BagFormatError('m', 'line 2 is not "<sha256> <path>"'));
    expect(() => parseManifest('m', `${A}  data/a\n${B}  data/a\n`)).toThrow(/listed twice/);
  });

  it('keeps bag-info values on one line and reads continuation lines other tools write', () => {
    const text = bagInfoText([['Reason', '移送\r\n法制审核'], ['Unit', 'SZ'], ['Unit', 'GD']]);
    expect(text).toBe('Reason: 移送 法制审核\nUnit: SZ\nUnit: GD\n');
    expect(() => bagInfoText([['Bad Label', 'x']])).toThrow(BagFormatError);
    const parsed = parseBagInfo('External-Description: a long\n  description\nPayload-Oxum: 10.2\n');
    expect(parsed).toEqual([['External-Description', 'a long description'], ['Payload-Oxum', '10.2']]);
    expect(bagInfoValue(parsed, 'payload-oxum')).toBe('10.2');
  });

  it('counts the payload as octets.streams', () => {
    expect(payloadOxum([{ size: 3 }, { size: 7 }])).toBe('10.2');
    expect(payloadOxum([])).toBe('0.0');
  });
});
