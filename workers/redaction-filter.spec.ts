import { describe, expect, it } from 'vitest';
import type { RedactionBox, RedactionSpec } from '../archive/redaction-project.ts';
import { boxAt, segmentsOf } from '../archive/redaction-project.ts';
import { placement, redactionArgs, redactionFilterGraph, type RenderInput } from './redaction-filter.ts';

const frame: RenderInput = { width: 640, height: 360, audio: { sampleRate: 48000, channels: 2 } };
const settings = { proxyCrf: 26, proxyPreset: 'veryfast' as const, audioBitrateKbps: 96 };

const sliding: RedactionBox = {
  id: 'face',
  shape: 'rect',
  mode: 'blur',
  keyframes: [
    { t: 1, x: 0.1, y: 0.2, w: 0.2, h: 0.3 },
    { t: 3, x: 0.5, y: 0.2, w: 0.2, h: 0.3 },
  ],
};

const spec = (over: Partial<RedactionSpec>): RedactionSpec => ({ boxes: [], blurRanges: [], audioRanges: [], ...over });

describe('redactionFilterGraph', () => {
  it('crops, blurs and lays back a moving box, with x an expression of t and y fixed, only during its span', () => {
    expect(redactionFilterGraph(spec({ boxes: [sliding] }), { ...frame, audio: null })).toEqual({
      graph: [
        '[0:v]setpts=PTS-STARTPTS,format=yuv420p,split=2[v0][s0]',
        '[s0]crop=w=132:h=112:x=clip(2*floor((128+256*clip((t-1)/2\\,0\\,1)-66)/2)\\,0\\,508):y=70,boxblur=luma_radius=28:luma_power=3:chroma_radius=14:chroma_power=3[b0]',
        '[v0][b0]overlay=x=clip(2*floor((128+256*clip((t-1)/2\\,0\\,1)-66)/2)\\,0\\,508):y=70:eval=frame:enable=between(t\\,1\\,3)[v1]',
        '[v1]null[vout]',
      ].join(';'),
      video: 'vout',
      audio: null,
    });
  });

  it('one crop and overlay per span of a box with three keyframes; pixelate makes blocks; full-frame blur ranges last', () => {
    const box: RedactionBox = {
      id: 'plate',
      shape: 'rect',
      mode: 'pixelate',
      keyframes: [
        { t: 0, x: 0, y: 0, w: 0.25, h: 0.25 },
        { t: 2, x: 0, y: 0, w: 0.25, h: 0.25 },
        { t: 4, x: 0.5, y: 0.5, w: 0.5, h: 0.5 },
      ],
    };
    const g = redactionFilterGraph(spec({ boxes: [box], blurRanges: [{ from: 5, to: 6 }, { from: 7.5, to: 8 }] }), { ...frame, audio: null });
    expect(g.graph.split(';')).toEqual([
      '[0:v]setpts=PTS-STARTPTS,format=yuv420p,split=3[v0][s0][s1]',
      '[s0]crop=w=164:h=94:x=0:y=0,pixelize=width=16:height=16[b0]',
      '[v0][b0]overlay=x=0:y=0:eval=frame:enable=between(t\\,0\\,2)[v1]',
      // Growing from a quarter to half the frame: covered at the larger size, moving with the centre.
      '[s1]crop=w=324:h=184:x=clip(2*floor((80+400*clip((t-2)/2\\,0\\,1)-162)/2)\\,0\\,316):y=clip(2*floor((45+225*clip((t-2)/2\\,0\\,1)-92)/2)\\,0\\,176),pixelize=width=31:height=31[b1]',
      '[v1][b1]overlay=x=clip(2*floor((80+400*clip((t-2)/2\\,0\\,1)-162)/2)\\,0\\,316):y=clip(2*floor((45+225*clip((t-2)/2\\,0\\,1)-92)/2)\\,0\\,176):eval=frame:enable=between(t\\,2\\,4)[v2]',
      '[v2]boxblur=luma_radius=22:luma_power=3:chroma_radius=11:chroma_power=3:enable=between(t\\,5\\,6)+between(t\\,7.5\\,8)[vout]',
    ]);
  });

  it('mutes mute and tone ranges, and mixes a tone of the input’s rate and layout into the tone ranges', () => {
    const g = redactionFilterGraph(
      spec({ audioRanges: [{ from: 1, to: 2, mode: 'mute' }, { from: 2.5, to: 3.25, mode: 'tone' }] }),
      { ...frame, audio: { sampleRate: 44100, channels: 1 } },
    );
    expect(g.graph.split(';')).toEqual([
      '[0:v]setpts=PTS-STARTPTS,format=yuv420p[v0]',
      '[v0]null[vout]',
      '[0:a]asetpts=PTS-STARTPTS,volume=volume=0:enable=between(t\\,1\\,2)+between(t\\,2.5\\,3.25)[am]',
      'sine=frequency=1000:sample_rate=44100,volume=volume=0:enable=not(between(t\\,2.5\\,3.25)),aformat=sample_fmts=fltp:channel_layouts=mono[tone]',
      '[am][tone]amix=inputs=2:duration=first:dropout_transition=0:normalize=0[aout]',
    ]);
    expect(g.audio).toBe('aout');
  });

  it('passes the sound through (from 0) when no range touches it; mute alone needs no tone', () => {
    expect(redactionFilterGraph(spec({ blurRanges: [{ from: 0, to: 1 }] }), frame).graph.split(';').slice(-1)).toEqual(['[0:a]asetpts=PTS-STARTPTS[aout]']);
    expect(redactionFilterGraph(spec({ audioRanges: [{ from: 0, to: 1, mode: 'mute' }] }), frame).graph.split(';').slice(-1)).toEqual([
      '[0:a]asetpts=PTS-STARTPTS,volume=volume=0:enable=between(t\\,0\\,1)[aout]',
    ]);
  });

  it('refuses a frame size it cannot place boxes in', () => {
    expect(() => redactionFilterGraph(spec({ boxes: [sliding] }), { ...frame, width: 0 })).toThrow(/bad frame size/);
    expect(() => redactionFilterGraph(spec({ boxes: [sliding] }), { ...frame, height: 359.5 })).toThrow(/bad frame size/);
  });
});

describe('placement', () => {
  /** Evaluates the position expressions the way ffmpeg does, for the numbers they contain. */
  const evaluate = (expr: string, t: number): number => {
    const js = expr.replace(/\\,/g, ',').replace(/clip\(/g, 'C(').replace(/floor\(/g, 'Math.floor(');
    return Function('t', 'C', `return ${js};`)(t, (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v)));
  };

  it('covers the interpolated box at every frame time, within the frame, at even positions', () => {
    const box: RedactionBox = {
      id: 'b',
      shape: 'rect',
      mode: 'blur',
      keyframes: [
        { t: 0, x: 0, y: 0.9, w: 0.05, h: 0.1 },
        { t: 1.3, x: 0.7, y: 0.05, w: 0.3, h: 0.4 },
        { t: 2, x: 0.333, y: 0.333, w: 0.111, h: 0.222 },
      ],
    };
    const [W, H] = [854, 480];
    let checked = 0;
    for (const segment of segmentsOf(box)) {
      const p = placement(segment, W, H);
      for (let t = segment.from; t <= segment.to + 1e-9; t += 0.04) {
        const r = boxAt(box, Math.min(t, segment.to))!;
        const x = evaluate(p.x, t);
        const y = evaluate(p.y, t);
        expect(x % 2).toBe(0);
        expect(y % 2).toBe(0);
        expect(x).toBeGreaterThanOrEqual(0);
        expect(y).toBeGreaterThanOrEqual(0);
        expect(x + p.w).toBeLessThanOrEqual(W);
        expect(y + p.h).toBeLessThanOrEqual(H);
        expect(x).toBeLessThanOrEqual(r.x * W + 1e-6);
        expect(y).toBeLessThanOrEqual(r.y * H + 1e-6);
        expect(x + p.w).toBeGreaterThanOrEqual((r.x + r.w) * W - 1e-6);
        expect(y + p.h).toBeGreaterThanOrEqual((r.y + r.h) * H - 1e-6);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(45);
  });
});

describe('redactionArgs', () => {
  it('is the proxy in, the graph, the proxies’ H.264 and AAC out, as an MP4 with no metadata', () => {
    const s = spec({ boxes: [sliding], audioRanges: [{ from: 1, to: 2, mode: 'mute' }] });
    expect(redactionArgs('/w/proxy.mp4', '/w/redacted.mp4', s, frame, settings)).toEqual([
      '-hide_banner', '-nostdin', '-y', '-loglevel', 'level+warning', '-progress', 'pipe:1', '-nostats', '-max_error_rate', '1',
      '-i', '/w/proxy.mp4',
      '-filter_complex', redactionFilterGraph(s, frame).graph,
      '-map', '[vout]',
      '-map', '[aout]',
      '-map_metadata', '-1',
      '-map_chapters', '-1',
      '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '26', '-profile:v', 'high', '-pix_fmt', 'yuv420p',
      '-force_key_frames', 'expr:gte(t,n_forced*2)', '-fps_mode', 'vfr', '-enc_time_base:v', '-1',
      '-c:a', 'aac', '-b:a', '96k',
      '-movflags', '+faststart',
      '-f', 'mp4',
      '/w/redacted.mp4',
    ]);
  });

  it('has no audio stream without sound, and takes absolute paths only', () => {
    const args = redactionArgs('/w/p.mp4', '/w/o.mp4', spec({ boxes: [sliding] }), { ...frame, audio: null }, settings);
    expect(args).not.toContain('[aout]');
    expect(args.slice(args.indexOf('-enc_time_base:v'), args.indexOf('-movflags'))).toEqual(['-enc_time_base:v', '-1', '-an']);
    expect(() => redactionArgs('p.mp4', '/w/o.mp4', spec({ boxes: [sliding] }), frame, settings)).toThrow(/absolute path/);
    expect(() => redactionArgs('/w/p.mp4', '-o.mp4', spec({ boxes: [sliding] }), frame, settings)).toThrow(/absolute path/);
  });
});
