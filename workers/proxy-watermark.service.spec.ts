import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { WatermarkError } from '../archive/watermark-text.ts';
import { watermarkArgs } from './ffmpeg-args.ts';
import { FakeWorkspace, StrictScope } from './media.fakes.ts';
import { MediaInputError, type MediaProber, type OutputOutcome, type Transcoder } from './media-tools.ts';
import { ProxyWatermarkService } from './proxy-watermark.service.ts';

const settings = { proxyCrf: 26, proxyPreset: 'veryfast' as const, fontFile: '/fonts/cjk.ttc' };

function setup(run: Transcoder['run'], probed: OutputOutcome) {
  const scope = new StrictScope();
  const ws = new (class extends FakeWorkspace {
    override read(name: string): Readable {
      return name === 'watermarked.mp4' ? Readable.from([Buffer.from('marked')]) : super.read(name);
    }
  })(scope, '/work/watermark-1');
  const calls: Array<readonly string[]> = [];
  const service = new ProxyWatermarkService({
    transcoder: scope.strict<Transcoder>('transcoder', { run: (args: readonly string[], o: never) => (calls.push(args), run(args, o)) }),
    prober: scope.strict<MediaProber>('prober', { probeOutput: async () => probed }),
    workspaces: { create: async () => ws },
    settings,
  });
  return { scope, ws, calls, service };
}

const collect = async (s: Readable) => {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
};

describe('ProxyWatermarkService', () => {
  it('runs the built arguments on a local copy of the proxy, hands over the checked copy, then removes its scratch space', async () => {
    const { scope, ws, calls, service } = setup(async () => ({ stderrTail: [], hadErrors: false }), { ok: true, durationSeconds: 3, width: 640, height: 360, readBy: 'header' });
    const got = await service.burnIn(Readable.from([Buffer.from('proxy bytes')]), ['a', 'b'], collect);
    expect(got).toBe('marked');
    expect(ws.written.get('proxy.mp4')).toBe(11);
    expect(calls).toEqual([watermarkArgs('/work/watermark-1/proxy.mp4', '/work/watermark-1/watermarked.mp4', ['a', 'b'], settings)]);
    expect(ws.disposed).toBe(1);
    expect(scope.unexpected).toEqual([]);
  });

  it('a proxy ffmpeg cannot decode, or an output that is no MP4, is a WatermarkError; scratch space removed either way', async () => {
    const broken = setup(async () => Promise.reject(new MediaInputError('ffmpeg', 'moov atom not found')), { ok: true, durationSeconds: 1, width: 1, height: 1, readBy: 'header' });
    await expect(broken.service.burnIn(Readable.from([Buffer.from('x')]), ['a'], collect)).rejects.toThrow(new WatermarkError('ffmpeg: moov atom not found'));
    expect(broken.ws.disposed).toBe(1);
    const unreadable = setup(async () => ({ stderrTail: [], hadErrors: false }), { ok: false, error: 'Invalid data found when processing input' });
    await expect(unreadable.service.burnIn(Readable.from([Buffer.from('x')]), ['a'], collect)).rejects.toThrow(WatermarkError);
    expect(unreadable.ws.disposed).toBe(1);
  });

  it('a failure of ffmpeg itself (not of the input) stays what it is', async () => {
    const { ws, service } = setup(async () => Promise.reject(new Error('ffmpeg (ffmpeg) could not run: ENOENT')), { ok: false, error: 'unused' });
    await expect(service.burnIn(Readable.from([Buffer.from('x')]), ['a'], collect)).rejects.toThrow(/could not run/);
    expect(ws.disposed).toBe(1);
  });
});
