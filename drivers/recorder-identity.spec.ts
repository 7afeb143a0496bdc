import { describe, expect, it } from 'vitest';
import type { VolumeIdentityFields } from './device-info.parser.ts';
import { DEVICE_FIRST, mostCommonNameIds, OPERATOR_FIRST, readSdkIdentity, resolveIdentity } from './recorder-identity.ts';
import type { ZfyInfo } from './recorder-sdk.ts';
import type { ParsedRecordingName } from './recorder.driver.ts';
import { SimulatedSdkDevice } from './simulated-sdk.ts';

const info: ZfyInfo = {
  productSerial: 'SDK-SERIAL',
  officerNumber: '111111',
  officerName: '李四',
  unitNumber: 'U1',
  unitName: '一科',
  vendor: 'Vendor',
  model: 'M1',
};

const file: VolumeIdentityFields = { serial: 'FILE-SERIAL', officerId: '222222', officerName: 'File Name', unitId: 'U2', unitName: '二科', vendor: null, model: null };
const usb = { vendorId: 0x1234, productId: 0x5678, serialNumber: 'USB-SERIAL', manufacturer: 'USB Maker', product: 'USB Disk' };
const fallback = { serial: 'DIR-ABC', source: 'volume-label' as const };

describe('resolveIdentity', () => {
  it('puts the device first for recorders', () => {
    const all = { operator: { serial: 'OP', officerId: '999' }, sdk: { info, fileCount: 12 }, volumeFile: file, fileNames: { deviceId: 'NAME', officerId: '333' }, usb, volumeLabel: 'LABEL', fallback };
    expect(resolveIdentity(all, DEVICE_FIRST)).toEqual({
      serial: 'SDK-SERIAL',
      vendor: 'Vendor',
      model: 'M1',
      officerId: '111111',
      officerName: '李四',
      unitId: 'U1',
      unitName: '一科',
      source: 'sdk',
      deviceFileCount: 12,
    });
    expect(resolveIdentity({ ...all, sdk: null }, DEVICE_FIRST)).toMatchObject({ serial: 'FILE-SERIAL', source: 'volume-file', officerId: '222222', unitName: '二科' });
    expect(resolveIdentity({ ...all, sdk: null, volumeFile: null }, DEVICE_FIRST)).toMatchObject({ serial: 'NAME', source: 'filename', officerId: '333', vendor: 'USB Maker' });
    expect(resolveIdentity({ ...all, sdk: null, volumeFile: null, fileNames: null }, DEVICE_FIRST)).toMatchObject({ serial: 'USB-SERIAL', source: 'usb', officerId: '999' });
    expect(resolveIdentity({ volumeLabel: 'LABEL', operator: { serial: 'OP' }, fallback }, DEVICE_FIRST)).toMatchObject({ serial: 'OP', source: 'operator' });
    expect(resolveIdentity({ volumeLabel: 'LABEL', fallback }, DEVICE_FIRST)).toMatchObject({ serial: 'LABEL', source: 'volume-label', deviceFileCount: null });
    expect(resolveIdentity({ volumeLabel: '', fallback })).toMatchObject({ serial: 'DIR-ABC', source: 'volume-label' });
  });

  it('puts the operator first for imported folders', () => {
    expect(resolveIdentity({ operator: { serial: 'OP', officerId: '999' }, volumeFile: file, fallback }, OPERATOR_FIRST)).toMatchObject({
      serial: 'OP',
      source: 'operator',
      officerId: '999',
      unitName: '二科',
    });
    expect(resolveIdentity({ operator: {}, volumeFile: file, fallback }, OPERATOR_FIRST)).toMatchObject({ serial: 'FILE-SERIAL', source: 'volume-file' });
    expect(resolveIdentity({ operator: {}, fallback }, OPERATOR_FIRST)).toMatchObject({ serial: 'DIR-ABC', source: 'volume-label', officerId: null });
  });

  it('cuts NUL padding from SDK strings and ignores blank or control-laden values', () => {
    const padded = { ...info, productSerial: 'ZFY77\u0000\u0000\u0000', officerNumber: '   ', officerName: 'x\u0007y' };
    expect(resolveIdentity({ sdk: { info: padded, fileCount: null }, volumeFile: file, fallback })).toMatchObject({
      serial: 'ZFY77',
      officerId: '222222',
      officerName: 'File Name',
    });
  });
});

describe('mostCommonNameIds', () => {
  const p = (deviceId: string | null, officerId: string | null): ParsedRecordingName => ({ deviceId, officerId, startLocal: null, sequence: null, important: false });

  it('takes the majority, ties to the smaller id', () => {
    expect(mostCommonNameIds([p('B', '2'), p('A', '1'), p('B', '1'), null, p(null, null)])).toEqual({ deviceId: 'B', officerId: '1' });
    expect(mostCommonNameIds([p('B', '2'), p('A', '1')])).toEqual({ deviceId: 'A', officerId: '1' });
    expect(mostCommonNameIds([])).toEqual({ deviceId: null, officerId: null });
  });
});

describe('readSdkIdentity', () => {
  it('reads info and file count', async () => {
    const sdk = new SimulatedSdkDevice(info, 0, '123456', { fileCount: 5 });
    expect(await readSdkIdentity(sdk)).toEqual({ info, fileCount: 5 });
  });

  it('gives null when GetZFYInfo fails and an unknown count when only the count fails', async () => {
    const sdk = new SimulatedSdkDevice(info, 0, '123456', { fileCount: 5 });
    sdk.failOn('GetZFYInfo', { times: 1 });
    expect(await readSdkIdentity(sdk)).toBeNull();
    sdk.failOn('FileCount');
    expect(await readSdkIdentity(sdk)).toEqual({ info, fileCount: null });
    sdk.heal();
    sdk.setFileCount(-3);
    expect((await readSdkIdentity(sdk))?.fileCount).toBeNull();
  });
});
