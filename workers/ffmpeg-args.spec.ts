import { describe, expect, it } from 'vitest';
import {
  cleanStderrLine,
  drawtextFilter,
  filtergraphEscape,
  filterOptionValue,
  posterFrameArgs,
  textEms,
  ProgressReader,
  proxyAudioArgs,
  proxyVideoArgs,
  stderrShowsDecodeErrors,
  stderrVerdict,
  faceSampleArgs,
  storyboardFramesArgs,
  storyboardInterval,
  watermarkArgs,
} from './ffmpeg-args.ts';
import type { ProbeInfo, StreamInfo } from './media-tools.ts';

const settings = { proxyMaxHeight: 720, proxyCrf: 26, proxyPreset: 'veryfast' as const, audioBitrateKbps: 96 };

function video(over: Partial<StreamInfo> = {}): StreamInfo {
  return { index: 0, kind: 'video', codec: 'h264', width: 1920, height: 1080, frameRate: 30, variableFrameRate: false, rotation: 0, durationSeconds: 18, sampleRate: null, channels: null, ...over };
}
function audio(over: Partial<StreamInfo> = {}): StreamInfo {
  return { index: 1, kind: 'audio', codec: 'aac', width: null, height: null, frameRate: null, variableFrameRate: false, rotation: 0, durationSeconds: 18, sampleRate: 48000, channels: 1, ...over };
}
function probe(...streams: StreamInfo[]): ProbeInfo {
  return { container: 'mov,mp4,m4a,3gp,3g2,mj2', durationSeconds: 18, bitRate: 8_000_000, streams, tags: {} };
}

const HEAD = ['-hide_banner', '-nostdin', '-y', '-loglevel', 'level+warning', '-progress', 'pipe:1', '-nostats', '-max_error_rate', '1'];
const TOLERANT = ['-err_detect', 'ignore_err', '-fflags', '+genpts+discardcorrupt'];
const IN = '/var/evidock/work/job-1/original.MP4';
const OUT = '/var/evidock/work/job-1/proxy.mp4';

describe('proxyVideoArgs', () => {
  const withAudio = [
    ...HEAD,
    ...TOLERANT,
    '-i', IN,
    '-map', '0:V:0',
    '-map', '0:a:0?',
    '-map_metadata', '-1',
    '-map_chapters', '-1',
    '-vf', "scale=w=-2:h='min(720,trunc(ih/2)*2)'",
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '26', '-profile:v', 'high', '-pix_fmt', 'yuv420p',
    '-force_key_frames', 'expr:gte(t,n_forced*2)',
    '-fps_mode', 'vfr',
    '-enc_time_base:v', '-1',
    '-c:a', 'aac', '-b:a', '96k', '-af', 'aresample=async=1,aformat=channel_layouts=mono|stereo',
    '-movflags', '+faststart',
    '-f', 'mp4',
    OUT,
  ];

  it('1080p30 H.264 with audio: H.264/AAC MP4, scaled to 720 high, faststart, no metadata copied', () => {
    expect(proxyVideoArgs(IN, OUT, probe(video(), audio()), settings)).toEqual(withAudio);
  });

  it('480p: the same list, because the height limit is min(720, ih) evaluated by ffmpeg and never enlarges', () => {
    const info = probe(video({ width: 854, height: 480 }), audio());
    expect(proxyVideoArgs(IN, OUT, info, settings)).toEqual(withAudio);
  });

  it('no audio stream: -an and no audio map', () => {
    expect(proxyVideoArgs(IN, OUT, probe(video()), settings)).toEqual([
      ...HEAD,
      ...TOLERANT,
      '-i', IN,
      '-map', '0:V:0',
      '-map_metadata', '-1',
      '-map_chapters', '-1',
      '-vf', "scale=w=-2:h='min(720,trunc(ih/2)*2)'",
      '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '26', '-profile:v', 'high', '-pix_fmt', 'yuv420p',
      '-force_key_frames', 'expr:gte(t,n_forced*2)',
      '-fps_mode', 'vfr',
      '-enc_time_base:v', '-1',
      '-an',
      '-movflags', '+faststart',
      '-f', 'mp4',
      OUT,
    ]);
  });

  it('rotated phone video (90°, variable rate): no transpose of our own, autorotation stays on', () => {
    const phone = probe(video({ codec: 'hevc', rotation: 90, variableFrameRate: true, frameRate: 29.863 }), audio({ channels: 2, sampleRate: 44100 }));
    const args = proxyVideoArgs(IN, OUT, phone, settings);
    expect(args).toEqual(withAudio);
    // ffmpeg turns the frames upright and writes an identity matrix; a transpose here, or
    // -noautorotate, would rotate twice or not at all.
    expect(args.join(' ')).not.toMatch(/transpose|rotate|noautorotate/);
  });

  it('follows the settings', () => {
    const args = proxyVideoArgs(IN, OUT, probe(video(), audio()), { proxyMaxHeight: 480, proxyCrf: 30, proxyPreset: 'ultrafast', audioBitrateKbps: 64 });
    expect(args).toContain("scale=w=-2:h='min(480,trunc(ih/2)*2)'");
    expect(args.slice(args.indexOf('-preset'), args.indexOf('-preset') + 4)).toEqual(['-preset', 'ultrafast', '-crf', '30']);
    expect(args[args.indexOf('-b:a') + 1]).toBe('64k');
  });

  it('refuses an input without video, and paths ffmpeg could read as options or protocols', () => {
    expect(() => proxyVideoArgs(IN, OUT, probe(audio()), settings)).toThrow(/no video stream/);
    expect(() => proxyVideoArgs('-i.mp4', OUT, probe(video()), settings)).toThrow(/absolute path/);
    expect(() => proxyVideoArgs(IN, 'concat:a|b', probe(video()), settings)).toThrow(/absolute path/);
  });
});

describe('proxyAudioArgs', () => {
  it('audio-only recording: AAC in M4A, no picture, faststart', () => {
    expect(proxyAudioArgs('/w/rec.WAV', '/w/rec.m4a', { audioBitrateKbps: 96 })).toEqual([
      ...HEAD,
      ...TOLERANT,
      '-i', '/w/rec.WAV',
      '-map', '0:a:0',
      '-vn',
      '-map_metadata', '-1',
      '-map_chapters', '-1',
      '-c:a', 'aac', '-b:a', '96k', '-af', 'aresample=async=1,aformat=channel_layouts=mono|stereo',
      '-movflags', '+faststart',
      '-f', 'ipod',
      '/w/rec.m4a',
    ]);
  });
});

describe('posterFrameArgs', () => {
  it('seeks before the input and writes one PNG at most the poster width wide', () => {
    expect(posterFrameArgs(IN, '/w/poster.png', 2.5, 1280)).toEqual([
      ...HEAD,
      ...TOLERANT,
      '-ss', '2.5',
      '-i', IN,
      '-map', '0:V:0',
      '-map_metadata', '-1',
      '-frames:v', '1',
      '-vf', "scale=w='min(1280,iw)':h=-2",
      '-c:v', 'png',
      '-f', 'image2',
      '-update', '1',
      '/w/poster.png',
    ]);
  });

  it('writes times to the millisecond and refuses nonsense', () => {
    expect(posterFrameArgs(IN, '/w/p.png', 1 / 3, 640)).toContain('0.333');
    expect(posterFrameArgs(IN, '/w/p.png', 0, 640)).toContain('0');
    expect(() => posterFrameArgs(IN, '/w/p.png', -1, 640)).toThrow(/bad time/);
    expect(() => posterFrameArgs(IN, '/w/p.png', Number.NaN, 640)).toThrow(/bad time/);
    expect(() => posterFrameArgs(IN, '/w/p.png', 1, 0)).toThrow(/bad width/);
  });
});

describe('storyboardFramesArgs', () => {
  it('keyframes only by default: one frame per interval, tile width, PNGs numbered by the pattern', () => {
    expect(storyboardFramesArgs(IN, '/w/sb/frame-%04d.png', 10, 160)).toEqual([
      ...HEAD,
      '-skip_frame', 'nokey',
      ...TOLERANT,
      '-i', IN,
      '-map', '0:V:0',
      '-map_metadata', '-1',
      '-vf', 'fps=1/10:eof_action=pass,scale=160:-2',
      '-fps_mode', 'passthrough',
      '-c:v', 'png',
      '-f', 'image2',
      '/w/sb/frame-%04d.png',
    ]);
  });

  it('can decode every frame', () => {
    const args = storyboardFramesArgs(IN, '/w/sb/frame-%04d.png', 12, 200, { keyframesOnly: false });
    expect(args).not.toContain('-skip_frame');
    expect(args).toContain('fps=1/12:eof_action=pass,scale=200:-2');
  });

  it('needs a numbered pattern and a positive interval', () => {
    expect(() => storyboardFramesArgs(IN, '/w/sb/frame.png', 10, 160)).toThrow(/frame number/);
    expect(() => storyboardFramesArgs(IN, '/w/sb/frame-%04d.png', 0, 160)).toThrow(/bad interval/);
  });
});

describe('storyboardInterval', () => {
  const sb = { storyboardIntervalSeconds: 10, storyboardMaxFrames: 100 };
  it('keeps the configured interval while the frames fit', () => {
    expect(storyboardInterval(30, sb)).toBe(10);
    expect(storyboardInterval(989, sb)).toBe(10); // ⌊989/10⌋ + 1 = 99 frames
    expect(storyboardInterval(null, sb)).toBe(10);
    expect(storyboardInterval(0, sb)).toBe(10);
  });

  it('widens it so that at most storyboardMaxFrames frames come out', () => {
    for (const duration of [990, 1000, 3600, 7 * 3600 + 13, 12345.6]) {
      const interval = storyboardInterval(duration, sb);
      expect(Number.isInteger(interval)).toBe(true);
      expect(Math.floor(duration / interval) + 1).toBeLessThanOrEqual(100);
      // …and no wider than needed.
      if (interval > 10) expect(Math.floor(duration / (interval - 1)) + 1).toBeGreaterThan(100);
    }
    expect(storyboardInterval(3600, sb)).toBe(37);
    expect(storyboardInterval(5, { storyboardIntervalSeconds: 1, storyboardMaxFrames: 1 })).toBe(6);
  });
});

describe('reading ffmpeg output', () => {
  it('turns -progress blocks into percent and speed', () => {
    const reader = new ProgressReader(20);
    const block = ['frame=120', 'fps=60.5', 'out_time_us=5000000', 'out_time_ms=5000000', 'out_time=00:00:05.000000', 'speed=2.51x'];
    for (const line of block) expect(reader.push(line)).toBeNull();
    expect(reader.push('progress=continue')).toEqual({ percent: 25, speed: 2.51 });
    expect(reader.push('out_time_us=N/A')).toBeNull();
    expect(reader.push('speed=N/A')).toBeNull();
    expect(reader.push('progress=continue')).toEqual({ percent: 0, speed: null });
    expect(reader.push('out_time_us=21000000')).toBeNull();
    expect(reader.push('progress=continue')).toEqual({ percent: 99.9, speed: null });
    expect(reader.push('progress=end')).toEqual({ percent: 100, speed: null });
  });

  it('reports 0 until the end when the duration is unknown', () => {
    const reader = new ProgressReader(null);
    reader.push('out_time_us=5000000');
    expect(reader.push('progress=continue')).toEqual({ percent: 0, speed: null });
    expect(reader.push('progress=end')).toEqual({ percent: 100, speed: null });
  });

  it('strips component, level and path from stderr lines', () => {
    expect(cleanStderrLine('[mov,mp4,m4a,3gp,3g2,mj2 @ 0x558527ded6c0] [error] moov atom not found')).toEqual({ level: 'error', text: 'moov atom not found' });
    expect(cleanStderrLine('[error] /w/in.mp4: Invalid data found when processing input', ['/w/in.mp4'])).toEqual({
      level: 'error',
      text: 'Invalid data found when processing input',
    });
    expect(cleanStderrLine('/w/in.mp4: No such file or directory', ['/w/in.mp4'])).toEqual({ level: null, text: 'No such file or directory' });
  });

  it('names the cause of a failure rather than its summary, and knows a bad input', () => {
    const moov = [
      '[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55b1dbe76c0] [warning] Format mov,mp4,m4a,3gp,3g2,mj2 detected only with low score of 1, misdetection possible!',
      '[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55b1dbe76c0] [error] moov atom not found',
      '[error] /w/in.mp4: Invalid data found when processing input',
    ];
    expect(stderrVerdict(moov, ['/w/in.mp4'])).toEqual({ badInput: true, message: 'moov atom not found' });
    // ffprobe -v error: no level tags.
    expect(stderrVerdict(['[mov,mp4,m4a,3gp,3g2,mj2 @ 0x562fa87541c0] moov atom not found', '/w/in.mp4: Invalid data found when processing input'], ['/w/in.mp4'])).toEqual({
      badInput: true,
      message: 'moov atom not found',
    });
    expect(stderrVerdict(['[error] Stream map \'0:a:0\' matches no streams.', '[error] To ignore this, add a trailing \'?\' to the map.'])).toEqual({
      badInput: true,
      message: "Stream map '0:a:0' matches no streams.",
    });
    // Out of disk is not the input's fault.
    expect(stderrVerdict(['[error] Error writing trailer of /w/out.mp4: No space left on device', '[error] Conversion failed!'])).toEqual({
      badInput: false,
      message: 'Error writing trailer of /w/out.mp4: No space left on device',
    });
    expect(stderrVerdict([])).toEqual({ badInput: false, message: 'no message on stderr' });
  });

  it('sees decoding errors, but not warnings about nothing', () => {
    expect(stderrShowsDecodeErrors(['[h264 @ 0x5612] [error] Invalid NAL unit size (1127 > 882).', '[h264 @ 0x5612] [error] Error splitting the input into NAL units.'])).toBe(true);
    expect(stderrShowsDecodeErrors(['[mov,mp4,m4a,3gp,3g2,mj2 @ 0x5578] [warning] Packet corrupt (stream = 0, dts = 23040), dropping it.'])).toBe(true);
    expect(stderrShowsDecodeErrors(['[h264 @ 0x5612] error while decoding MB 12 30, bytestream -7'])).toBe(true);
    expect(stderrShowsDecodeErrors(['[warning] Guessed Channel Layout for Input Stream #0.0 : mono'])).toBe(false);
    expect(stderrShowsDecodeErrors([])).toBe(false);
  });
});

/**
 * ffmpeg's av_get_token (libavutil/avstring.c), which both levels of filter parsing use: a
 * backslash takes the next character literally, '…' is literal up to the next quote, the
 * token ends at an unquoted, unescaped terminator; leading whitespace is skipped and trailing
 * unescaped whitespace dropped.
 */
function avGetToken(input: string, term: string): { token: string; rest: string } {
  let p = 0;
  while (p < input.length && ' \n\t\r'.includes(input[p]!)) p++;
  let out = '';
  let end = 0;
  while (p < input.length && !term.includes(input[p]!)) {
    const c = input[p++]!;
    if (c === '\\' && p < input.length) {
      out += input[p++]!;
      end = out.length;
    } else if (c === "'") {
      while (p < input.length && input[p] !== "'") out += input[p++]!;
      if (p < input.length) {
        p++;
        end = out.length;
      }
    } else {
      out += c;
    }
  }
  let trimmed = out.length;
  while (trimmed > end && ' \n\t\r'.includes(out[trimmed - 1]!)) trimmed--;
  return { token: out.slice(0, trimmed), rest: input.slice(p) };
}

/** The options of one filter as avfilter_graph_parse2 and then the filter's option parser see them. */
function parsedOptions(filter: string): { name: string; options: Map<string, string>; rest: string } {
  const name = avGetToken(filter, '=,;[');
  if (!name.rest.startsWith('=')) return { name: name.token, options: new Map(), rest: name.rest };
  const args = avGetToken(name.rest.slice(1), '[],;');
  const options = new Map<string, string>();
  let opts = args.token;
  while (opts.length > 0) {
    const key = /^[A-Za-z0-9_-]+/.exec(opts)![0];
    const value = avGetToken(opts.slice(key.length + 1), ':');
    options.set(key, value.token);
    opts = value.rest.startsWith(':') ? value.rest.slice(1) : value.rest;
  }
  return { name: name.token, options, rest: args.rest };
}

const HOSTILE = [
  "O'Brien",
  "''",
  "'",
  'a:b=c',
  'back\\slash\\',
  '\\',
  '50% %{localtime} %{eif\\:1\\:d}',
  "x':text=pwned:y='0",
  "'\\';drawtext=text=pwned,null[out];[in]",
  '[a],[b];[c]',
  '  leading and trailing  ',
  '某律师事务所：张律师（复印件）',
];

describe('drawtext escaping', () => {
  it.each(HOSTILE)('a recipient %j reaches drawtext as exactly that text, in one filter', (name) => {
    const text = `复制件 · 提供给 ${name}\nCOPY for ${name}`;
    const parsed = parsedOptions(drawtextFilter(text, '/usr/share/fonts/x:y/Noto\'s CJK.ttc'));
    expect(parsed.name).toBe('drawtext');
    expect(parsed.rest).toBe('');
    expect(parsed.options.get('text')).toBe(text);
    expect(parsed.options.get('fontfile')).toBe("/usr/share/fonts/x:y/Noto's CJK.ttc");
    expect(parsed.options.get('expansion')).toBe('none');
    expect([...parsed.options.keys()]).toEqual(['fontfile', 'expansion', 'text', 'fontsize', 'line_spacing', 'fontcolor', 'box', 'boxcolor', 'boxborderw', 'x', 'y', 'fix_bounds']);
  });

  it('shrinks the font when the longest line is wide: CJK characters count one em, others 0.6', () => {
    expect(textEms('案件 YB')).toBeCloseTo(2 + 0.6 * 3, 5);
    expect(textEms('（）𠀀')).toBe(3);
    const size = (t: string) => parsedOptions(drawtextFilter(t, '/f.ttc')).options.get('fontsize');
    expect(size(`${'名'.repeat(40)}\nshort`)).toBe('min(h/26,w*0.92/40)');
    expect(size(`short\n${'a'.repeat(100)}`)).toBe('min(h/26,w*0.92/60)');
  });

  it('quotes an option value, closing the quotes around a quote', () => {
    expect(filterOptionValue("it's: 50%")).toBe("'it'\\''s: 50%'");
    expect(filterOptionValue('')).toBe("''");
  });

  it('escapes what the filtergraph parser reads: backslash, quote and , ; [ ]', () => {
    expect(filtergraphEscape("a\\b'c,d;e[f]g:h%i")).toBe("a\\\\b\\'c\\,d\\;e\\[f\\]g:h%i");
  });

  it('keeps the expressions of the layout whole (their commas escaped)', () => {
    const parsed = parsedOptions(drawtextFilter('x', '/f.ttc'));
    expect(parsed.options.get('fontsize')).toBe('min(h/26,w*0.92/1)');
    expect(parsed.options.get('x')).toBe('(w-tw)/2');
    expect(parsed.options.get('y')).toBe('h-th-h/12');
  });
});

describe('watermarkArgs', () => {
  const wm = { proxyCrf: 26, proxyPreset: 'veryfast' as const, fontFile: '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc' };
  it('re-encodes the picture with the lines burned in, copies the sound, keeps no metadata, faststart', () => {
    const args = watermarkArgs('/w/proxy.mp4', '/w/watermarked.mp4', ['复制件 · 案件 YB-1', 'COPY · case YB-1'], wm);
    expect(args).toEqual([
      ...HEAD,
      ...TOLERANT,
      '-i', '/w/proxy.mp4',
      '-map', '0:V:0',
      '-map', '0:a:0?',
      '-map_metadata', '-1',
      '-map_chapters', '-1',
      '-vf', drawtextFilter('复制件 · 案件 YB-1\nCOPY · case YB-1', wm.fontFile),
      '-c:v', 'libx264',
      '-preset', 'veryfast',
      '-crf', '26',
      '-profile:v', 'high',
      '-pix_fmt', 'yuv420p',
      '-force_key_frames', 'expr:gte(t,n_forced*2)',
      '-fps_mode', 'vfr',
      '-enc_time_base:v', '-1',
      '-c:a', 'copy',
      '-movflags', '+faststart',
      '-f', 'mp4',
      '/w/watermarked.mp4',
    ]);
  });

  it('refuses relative paths (an option or a protocol to ffmpeg) and empty text', () => {
    expect(() => watermarkArgs('-i', '/w/o.mp4', ['x'], wm)).toThrow(/absolute/);
    expect(() => watermarkArgs('/w/i.mp4', 'pipe:1', ['x'], wm)).toThrow(/absolute/);
    expect(() => watermarkArgs('/w/i.mp4', '/w/o.mp4', ['x'], { ...wm, fontFile: 'Noto.ttc' })).toThrow(/absolute/);
    expect(() => watermarkArgs('/w/i.mp4', '/w/o.mp4', [' '], wm)).toThrow(/no text/);
  });
});

describe('faceSampleArgs', () => {
  it('every frame decoded, the rate picked by the fps filter, scaled down only, at most the limit, numbered PNGs', () => {
    expect(faceSampleArgs(IN, '/w/s/frame-%05d.png', 2, 1280, 3600)).toEqual([
      ...HEAD,
      ...TOLERANT,
      '-i', IN,
      '-map', '0:V:0',
      '-map_metadata', '-1',
      '-vf', "fps=2,scale='min(1280,iw)':-2",
      '-fps_mode', 'passthrough',
      '-frames:v', '3600',
      '-c:v', 'png',
      '-f', 'image2',
      '/w/s/frame-%05d.png',
    ]);
  });
  it('refuses a pattern without a number, a bad rate or limit', () => {
    expect(() => faceSampleArgs(IN, '/w/s/frame.png', 2, 1280, 10)).toThrow(/frame number/);
    expect(() => faceSampleArgs(IN, '/w/s/f-%05d.png', 0, 1280, 10)).toThrow(/bad rate/);
    expect(() => faceSampleArgs(IN, '/w/s/f-%05d.png', 2, 1280, 0)).toThrow(/frame limit/);
  });
});
