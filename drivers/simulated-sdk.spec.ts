import { describe, expect, it } from 'vitest';
import { SdkError, type ZfyInfo } from './recorder-sdk.ts';
import { SimulatedSdkDevice } from './simulated-sdk.ts';

const info: ZfyInfo = { productSerial: 'ZFY0042', officerNumber: '004512', officerName: '张三', unitNumber: '510100', unitName: '医保局', vendor: 'Sim', model: 'S1' };

function fixedClock(start: number) {
  let t = start;
  return { now: () => new Date(t), advance: (ms: number) => (t += ms) };
}

describe('SimulatedSdkDevice', () => {
  it('answers GetZFYInfo with a copy', async () => {
    const sdk = new SimulatedSdkDevice(info, 0, 'abc123');
    const got = await sdk.getZfyInfo();
    expect(got).toEqual(info);
    got.productSerial = 'changed';
    expect((await sdk.getZfyInfo()).productSerial).toBe('ZFY0042');
  });

  it('switches to mass storage only with the exact 6-byte password', async () => {
    const sdk = new SimulatedSdkDevice(info, 0, 'abc123');
    await expect(sdk.setMsdc(Buffer.from('abc124'))).rejects.toThrow(SdkError);
    await expect(sdk.setMsdc(Buffer.from('abc124'))).rejects.toThrow(/wrong password/);
    await expect(sdk.setMsdc(Buffer.from('abc12'))).rejects.toThrow(/exactly 6 bytes/);
    await expect(sdk.setMsdc(Buffer.from('abc1234'))).rejects.toThrow(/exactly 6 bytes/);
    await expect(sdk.setMsdc('abc123' as unknown as Buffer)).rejects.toThrow(SdkError);
    expect(sdk.massStorageEnabled).toBe(false);
    await sdk.setMsdc(Buffer.from('abc123'));
    expect(sdk.massStorageEnabled).toBe(true);
    const setMsdcCalls = sdk.calls.filter((c) => c.operation === 'SetMSDC');
    expect(setMsdcCalls.map((c) => c.ok)).toEqual([false, false, false, false, false, true]);
  });

  it('refuses to be built with a password that is not 6 bytes', () => {
    expect(() => new SimulatedSdkDevice(info, 0, '12345')).toThrow(RangeError);
    // Six characters but more than six bytes in UTF-8.
    expect(() => new SimulatedSdkDevice(info, 0, '密码12345')).toThrow(RangeError);
  });

  it('keeps a drifting clock until synchronised', async () => {
    const clock = fixedClock(Date.parse('2026-11-21T01:00:00Z'));
    const sdk = new SimulatedSdkDevice(info, -90_000, Buffer.from('abc123'), { now: clock.now });
    expect((await sdk.readDevTime()).toISOString()).toBe('2026-11-21T00:58:30.000Z');
    clock.advance(1000);
    expect((await sdk.readDevTime()).toISOString()).toBe('2026-11-21T00:58:31.000Z');
    const syncTo = clock.now();
    await sdk.syncDevTime(syncTo);
    expect(sdk.clockOffsetMs).toBe(0);
    expect(sdk.syncCalls).toEqual([syncTo]);
    expect((await sdk.readDevTime()).getTime()).toBe(clock.now().getTime());
    await expect(sdk.syncDevTime(new Date(Number.NaN))).rejects.toThrow(SdkError);
  });

  it('reports a configurable file count', async () => {
    const sdk = new SimulatedSdkDevice(info, 0, 'abc123', { fileCount: 3 });
    expect(await sdk.fileCount()).toBe(3);
    sdk.setFileCount(null);
    expect(await sdk.fileCount()).toBeNull();
    expect(await new SimulatedSdkDevice(info, 0, 'abc123').fileCount()).toBeNull();
  });

  it('fails on demand, for a number of calls or until healed', async () => {
    const sdk = new SimulatedSdkDevice(info, 0, 'abc123');
    sdk.failOn('GetZFYInfo', { times: 2, message: 'busy' });
    await expect(sdk.getZfyInfo()).rejects.toThrow(/GetZFYInfo failed: busy/);
    await expect(sdk.getZfyInfo()).rejects.toThrow(SdkError);
    await expect(sdk.getZfyInfo()).resolves.toEqual(info);

    sdk.failOn('*');
    await expect(sdk.readDevTime()).rejects.toThrow(SdkError);
    await expect(sdk.fileCount()).rejects.toThrow(SdkError);
    await expect(sdk.setMsdc(Buffer.from('abc123'))).rejects.toThrow(SdkError);
    expect(sdk.massStorageEnabled).toBe(false);
    sdk.heal();
    await expect(sdk.readDevTime()).resolves.toBeInstanceOf(Date);
    const err = await sdk.getZfyInfo().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeNull();
  });

  it('rejects with SdkError carrying the operation', async () => {
    const sdk = new SimulatedSdkDevice(info, 0, 'abc123');
    sdk.failOn('SyncDevTime', { times: 1 });
    const err = await sdk.syncDevTime(new Date()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SdkError);
    expect((err as SdkError).operation).toBe('SyncDevTime');
    expect((err as SdkError).name).toBe('SdkError');
    expect(sdk.syncCalls).toEqual([]);
  });
});
