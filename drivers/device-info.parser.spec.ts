import { describe, expect, it } from 'vitest';
import { decodeTextFile, isIdentityFilePath, MAX_IDENTITY_FILE_BYTES, parseDeviceInfoText, parseEvidockIdJson, parseIdentityFile } from './device-info.parser.ts';

describe('parseDeviceInfoText', () => {
  it('reads key=value lines in any case, ignoring comments and sections', () => {
    const text = '[Device]\r\n# written by firmware 2.1\r\nSN=ZFY0042\r\nPoliceID = 004512\r\nPoliceName=张三\r\nUnitID=510100\r\n; end\r\n';
    expect(parseDeviceInfoText(text)).toEqual({
      serial: 'ZFY0042',
      officerId: '004512',
      officerName: '张三',
      unitId: '510100',
      unitName: null,
      vendor: null,
      model: null,
    });
  });

  it('reads key: value and full-width colons, Chinese keys and quoted values', () => {
    const text = '产品序号：DSJ-9\n警号: "880011"\n单位名称=某市医疗保障局\nModel: X7\nManufacturer=ACME';
    expect(parseDeviceInfoText(text)).toMatchObject({ serial: 'DSJ-9', officerId: '880011', unitName: '某市医疗保障局', model: 'X7', vendor: 'ACME' });
  });

  it('keeps the first value of a repeated key', () => {
    expect(parseDeviceInfoText('SN=A1\nSN=B2')?.serial).toBe('A1');
  });

  it('returns null for text without a known key', () => {
    expect(parseDeviceInfoText('hello world\nfoo=bar')).toBeNull();
    expect(parseDeviceInfoText('')).toBeNull();
  });

  it('drops values with control characters or beyond the field length rather than truncating', () => {
    expect(parseDeviceInfoText('SN=ZFY\u001b[2J')).toBeNull();
    expect(parseDeviceInfoText(`SN=${'A'.repeat(65)}\nPoliceID=1`)).toMatchObject({ serial: null, officerId: '1' });
    expect(parseDeviceInfoText('SN=   ')).toBeNull();
  });
});

describe('parseEvidockIdJson', () => {
  it('reads the operator identity file', () => {
    expect(parseEvidockIdJson('{"serial":"DEMO-1","officerId":"004512","unitName":"一科","extra":1}')).toEqual({
      serial: 'DEMO-1',
      officerId: '004512',
      officerName: null,
      unitId: null,
      unitName: '一科',
      vendor: null,
      model: null,
    });
  });

  it.each(['not json', '[]', '"serial"', '{"serial":42}', '{}', '{"serial":"\\u0007"}', 'null'])('returns null for %j', (text) => {
    expect(parseEvidockIdJson(text)).toBeNull();
  });
});

describe('decodeTextFile', () => {
  it('decodes UTF-8 with and without BOM, UTF-16 with BOM and GBK', () => {
    expect(decodeTextFile(Buffer.from('SN=中文', 'utf8'))).toBe('SN=中文');
    expect(decodeTextFile(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('SN=1')]))).toBe('SN=1');
    expect(decodeTextFile(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('SN=中', 'utf16le')]))).toBe('SN=中');
    expect(decodeTextFile(Buffer.from([0x53, 0x4e, 0x3d, 0xd6, 0xd0, 0xce, 0xc4]))).toBe('SN=中文');
  });
});

describe('parseIdentityFile / isIdentityFilePath', () => {
  it('parses by format and refuses oversized input', () => {
    expect(parseIdentityFile(Buffer.from('SN=1'), 'key-value')?.serial).toBe('1');
    expect(parseIdentityFile(Buffer.from('{"serial":"1"}'), 'evidock-json')?.serial).toBe('1');
    expect(parseIdentityFile(Buffer.alloc(MAX_IDENTITY_FILE_BYTES + 1, 0x41), 'key-value')).toBeNull();
  });

  it('recognises identity file paths case-insensitively', () => {
    expect(isIdentityFilePath(['evidock.id'])).toBe(true);
    expect(isIdentityFilePath(['DevInfo.txt'])).toBe(true);
    expect(isIdentityFilePath(['System', 'id.txt'])).toBe(true);
    expect(isIdentityFilePath(['DCIM', 'ID.TXT'])).toBe(false);
    expect(isIdentityFilePath(['ID.TXT'])).toBe(false);
  });
});
