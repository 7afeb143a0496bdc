import { isAbsolute } from 'node:path';
import type { EvidockConfig } from '../config/config.schema.ts';
import type { ProbeInfo, TranscodeProgress } from './media-tools.ts';

/**
 * The ffmpeg command lines of the media workers, as pure functions of their inputs, and the
 * readers of what those command lines make ffmpeg print. Both halves live here because they
 * are one contract: `-progress pipe:1` decides the progress format, `-loglevel level+warning`
 * decides which stderr lines exist and how they are tagged.
 *
 * Every list is what follows the executable name and is run exactly as built (the adapter adds
 * nothing), so a spec comparing arrays is a spec of the real command, and the list can be
 * recorded with the derivative it produced.
 */

export type MediaSettings = EvidockConfig['media'];
export type ProxySettings = Pick<MediaSettings, 'proxyMaxHeight' | 'proxyCrf' | 'proxyPreset' | 'audioBitrateKbps'>;
export type AudioProxySettings = Pick<MediaSettings, 'audioBitrateKbps'>;
export type StoryboardSettings = Pick<MediaSettings, 'storyboardIntervalSeconds' | 'storyboardMaxFrames'>;

/** Proxies get a keyframe at least this often, so a browser seeks in them without lag. */
export const PROXY_KEYFRAME_SECONDS = 2;

/** What every evidock ffmpeg run starts with (the redaction render's too). */
export const COMMON = [
  '-hide_banner',
  '-nostdin',
  '-y',
  // Warnings and errors only, each tagged with its level: the stderr tail is then about the
  // input, and an error is recognisable without guessing from the wording.
  '-loglevel', 'level+warning',
  '-progress', 'pipe:1',
  '-nostats',
  // A recording damaged in most of its frames still gets its derivatives; the damage is
  // reported through the stderr tail (hadErrors) instead of failing the job.
  '-max_error_rate', '1',
] as const;

/**
 * Read as much of a damaged recording as can be read: decoders conceal and go on, packets the
 * demuxer knows are corrupt are dropped rather than decoded into smears, and missing
 * timestamps are generated.
 */
const TOLERANT_INPUT = ['-err_detect', 'ignore_err', '-fflags', '+genpts+discardcorrupt'] as const;

/**
 * Gaps in damaged audio become silence, so the sound stays in sync with the picture; mono
 * stays mono and anything wider is mixed down to stereo, which every browser plays.
 */
const AUDIO_FILTER = 'aresample=async=1,aformat=channel_layouts=mono|stereo';

function audioEncode(settings: AudioProxySettings): string[] {
  return ['-c:a', 'aac', '-b:a', `${settings.audioBitrateKbps}k`, '-af', AUDIO_FILTER];
}

/** The proxy's H.264 (see proxyVideoArgs for why each choice); a watermarked copy is encoded alike. */
export function videoEncode(settings: Pick<MediaSettings, 'proxyCrf' | 'proxyPreset'>): string[] {
  return [
    '-c:v', 'libx264',
    '-preset', settings.proxyPreset,
    '-crf', String(settings.proxyCrf),
    '-profile:v', 'high',
    '-pix_fmt', 'yuv420p',
    '-force_key_frames', `expr:gte(t,n_forced*${PROXY_KEYFRAME_SECONDS})`,
    '-fps_mode', 'vfr',
    '-enc_time_base:v', '-1',
  ];
}

/**
 * H.264/AAC MP4 for playback in a browser.
 *
 * - Size: height ≤ proxyMaxHeight, never enlarged, width and height even (yuv420p needs
 *   both). The limit is an expression ffmpeg evaluates on the decoded frame, so it applies to
 *   the frame as displayed and does not depend on the probe's idea of the size.
 * - Rotation: ffmpeg's autorotation (on by default) turns the frames upright and writes an
 *   identity display matrix, so the proxy is upright in every player and carries no rotation.
 *   Adding our own transpose would rotate twice.
 * - Frame rate: `-fps_mode vfr` keeps each frame at its original time. MP4's default (cfr)
 *   would duplicate frames of a variable-rate phone recording to fill a constant rate, which
 *   invents frames and bloats the proxy; for a constant-rate input both are the same. The
 *   encoder takes the input's time base so close timestamps are not rounded into collisions.
 * - Metadata: none is copied. The catalog holds what the original says; a proxy repeating
 *   creation time or location would be a second, unsigned copy that nobody checks.
 */
export function proxyVideoArgs(input: string, output: string, info: ProbeInfo, settings: ProxySettings): string[] {
  assertPath('input', input);
  assertPath('output', output);
  if (!info.streams.some((s) => s.kind === 'video')) throw new Error('proxyVideoArgs: the input has no video stream (use proxyAudioArgs)');
  const hasAudio = info.streams.some((s) => s.kind === 'audio');
  const maxHeight = settings.proxyMaxHeight;
  return [
    ...COMMON,
    ...TOLERANT_INPUT,
    '-i', input,
    // V, not v: cover art and thumbnails stored as video streams are not the recording.
    '-map', '0:V:0',
    ...(hasAudio ? ['-map', '0:a:0?'] : []),
    '-map_metadata', '-1',
    '-map_chapters', '-1',
    '-vf', `scale=w=-2:h='min(${maxHeight},trunc(ih/2)*2)'`,
    ...videoEncode(settings),
    ...(hasAudio ? audioEncode(settings) : ['-an']),
    '-movflags', '+faststart',
    '-f', 'mp4',
    output,
  ];
}

/** AAC in M4A (the `ipod` muxer writes the M4A brand players expect), first audio stream. */
export function proxyAudioArgs(input: string, output: string, settings: AudioProxySettings): string[] {
  assertPath('input', input);
  assertPath('output', output);
  return [
    ...COMMON,
    ...TOLERANT_INPUT,
    '-i', input,
    '-map', '0:a:0',
    '-vn',
    '-map_metadata', '-1',
    '-map_chapters', '-1',
    ...audioEncode(settings),
    '-movflags', '+faststart',
    '-f', 'ipod',
    output,
  ];
}

export type WatermarkSettings = Pick<MediaSettings, 'proxyCrf' | 'proxyPreset'> & {
  /** A font with Chinese glyphs; drawtext takes the first face of a collection (.ttc). */
  fontFile: string;
};

/**
 * A copy of one of our own proxies (H.264/AAC MP4, already upright and sized) with `lines`
 * burned into the picture, for a party granted a copy. The sound is copied as it is; the
 * picture is encoded as the proxy was. Text and font path pass through `drawtextFilter`, so a
 * recipient's name cannot end the option, the filter or the graph.
 */
export function watermarkArgs(input: string, output: string, lines: readonly string[], settings: WatermarkSettings): string[] {
  assertPath('input', input);
  assertPath('output', output);
  assertPath('fontFile', settings.fontFile);
  if (lines.length === 0 || lines.every((l) => l.trim() === '')) throw new Error('watermarkArgs: no text to burn in');
  return [
    ...COMMON,
    ...TOLERANT_INPUT,
    '-i', input,
    '-map', '0:V:0',
    '-map', '0:a:0?',
    '-map_metadata', '-1',
    '-map_chapters', '-1',
    '-vf', drawtextFilter(lines.join('\n'), settings.fontFile),
    ...videoEncode(settings),
    '-c:a', 'copy',
    '-movflags', '+faststart',
    '-f', 'mp4',
    output,
  ];
}

/**
 * drawtext over the lower part of the frame, in a translucent box, sized to the frame so a
 * small proxy is still legible, and smaller when the longest line would not fit its width
 * (drawtext cannot size by the text's own width, so it is estimated here). `expansion=none`:
 * the text is printed as given, so `%{…}` in a name is not a function call and a `%` needs
 * no escape of its own.
 */
export function drawtextFilter(text: string, fontFile: string): string {
  const ems = Math.max(1, ...text.split('\n').map(textEms));
  const options = [
    ['fontfile', filterOptionValue(fontFile)],
    ['expansion', 'none'],
    ['text', filterOptionValue(text)],
    ['fontsize', `min(h/26,w*0.92/${Math.ceil(ems)})`],
    ['line_spacing', '6'],
    ['fontcolor', 'white@0.9'],
    ['box', '1'],
    ['boxcolor', 'black@0.45'],
    ['boxborderw', '8'],
    ['x', '(w-tw)/2'],
    ['y', 'h-th-h/12'],
    // A long name is kept inside the picture rather than cut off at its edge.
    ['fix_bounds', '1'],
  ] as const;
  return `drawtext=${filtergraphEscape(options.map(([k, v]) => `${k}=${v}`).join(':'))}`;
}

/** A line's width in ems, roughly: a CJK or full-width character is one, anything else about 0.6. */
export function textEms(line: string): number {
  // In tenths, so that a hundred narrow characters are 60 ems and not 60.000000000000001.
  let tenths = 0;
  for (const ch of line) tenths += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]|[\u{20000}-\u{3fffd}]/u.test(ch) ? 10 : 6;
  return tenths / 10;
}

/**
 * A filter option's value, quoted for the option parser (the first of ffmpeg's two levels):
 * inside '…' everything is literal, `:` and backslashes too; a quote itself cannot be quoted,
 * so it closes the quotes, is escaped, and reopens them.
 */
export function filterOptionValue(value: string): string {
  return `'${value.replace(/'/g, "'\\''")}'`;
}

/**
 * A filter's arguments escaped for the filtergraph parser (the second level), which reads
 * quotes and backslashes before the option parser sees them and ends the filter at , ; [ ].
 */
export function filtergraphEscape(args: string): string {
  return args.replace(/[\\'\[\],;]/g, (c) => `\\${c}`);
}

/**
 * One upright frame at `atSeconds` as PNG, at most `width` wide (never enlarged); sharp makes
 * the JPEG/WebP from it, so the only lossy step is the last one. `-ss` before `-i` seeks to
 * the keyframe before the time and decodes forward from there, instead of decoding from the
 * start. A time past the end yields no frame and no error: choose it from the duration.
 */
export function posterFrameArgs(input: string, output: string, atSeconds: number, width: number): string[] {
  assertPath('input', input);
  assertPath('output', output);
  if (!Number.isFinite(atSeconds) || atSeconds < 0) throw new Error(`posterFrameArgs: bad time ${atSeconds}`);
  assertWidth(width);
  return [
    ...COMMON,
    ...TOLERANT_INPUT,
    '-ss', seconds(atSeconds),
    '-i', input,
    '-map', '0:V:0',
    '-map_metadata', '-1',
    '-frames:v', '1',
    '-vf', `scale=w='min(${width},iw)':h=-2`,
    '-c:v', 'png',
    '-f', 'image2',
    '-update', '1',
    output,
  ];
}

export interface StoryboardOptions {
  /**
   * Decode keyframes only (default). A storyboard of an hour needs ~360 frames out of
   * ~100 000; decoding only keyframes makes it seconds instead of minutes, and each tile is
   * then the keyframe nearest its time (within a GOP: 1–2 s on recorders, 2 s on our proxies).
   * Turn off for inputs with very sparse keyframes, where tiles would repeat.
   */
  keyframesOnly?: boolean;
}

/**
 * One PNG every `intervalSeconds`, `tileWidth` wide, numbered from 1 by `outputPattern`
 * (e.g. `/work/x/frame-%04d.png`): frame n shows the time (n − 1) × interval.
 */
export function storyboardFramesArgs(
  input: string,
  outputPattern: string,
  intervalSeconds: number,
  tileWidth: number,
  options: StoryboardOptions = {},
): string[] {
  assertPath('input', input);
  assertPath('outputPattern', outputPattern);
  if (!outputPattern.includes('%')) throw new Error('storyboardFramesArgs: outputPattern needs a frame number (e.g. frame-%04d.png)');
  if (!Number.isFinite(intervalSeconds) || intervalSeconds <= 0) throw new Error(`storyboardFramesArgs: bad interval ${intervalSeconds}`);
  assertWidth(tileWidth);
  return [
    ...COMMON,
    ...((options.keyframesOnly ?? true) ? ['-skip_frame', 'nokey'] : []),
    ...TOLERANT_INPUT,
    '-i', input,
    '-map', '0:V:0',
    '-map_metadata', '-1',
    // eof_action=pass: the last slot gets a frame too, not only slots the stream ran past.
    // Tiles must be the same size to lay out a sprite, so these are scaled up as well as down.
    '-vf', `fps=1/${seconds(intervalSeconds)}:eof_action=pass,scale=${tileWidth}:-2`,
    // Exactly the frames the fps filter chose: no duplicates added by the muxer's sync.
    '-fps_mode', 'passthrough',
    '-c:v', 'png',
    '-f', 'image2',
    outputPattern,
  ];
}

/**
 * The storyboard interval for a recording: the configured one, widened (in whole seconds) so
 * that the fps filter's ⌊duration / interval⌋ + 1 frames stay within storyboardMaxFrames.
 */
export function storyboardInterval(durationSeconds: number | null, settings: StoryboardSettings): number {
  const base = settings.storyboardIntervalSeconds;
  if (durationSeconds === null || !Number.isFinite(durationSeconds) || durationSeconds <= 0) return base;
  const maxFrames = Math.max(1, settings.storyboardMaxFrames);
  let interval = Math.max(base, Math.ceil(durationSeconds / maxFrames));
  while (Math.floor(durationSeconds / interval) + 1 > maxFrames) interval += 1;
  return interval;
}

// ——— Reading what ffmpeg prints under these arguments ———

/**
 * Accumulates `-progress pipe:1` output (key=value lines; each block ends with
 * `progress=continue` or `progress=end`) and returns a progress report at each block's end.
 */
export class ProgressReader {
  private block = new Map<string, string>();

  constructor(private readonly durationSeconds: number | null) {}

  push(line: string): TranscodeProgress | null {
    const eq = line.indexOf('=');
    if (eq <= 0) return null;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (key !== 'progress') {
      this.block.set(key, value);
      return null;
    }
    const report = progressOf(this.block, this.durationSeconds, value === 'end');
    this.block = new Map();
    return report;
  }
}

export function progressOf(block: ReadonlyMap<string, string>, durationSeconds: number | null, ended: boolean): TranscodeProgress {
  const speedText = block.get('speed');
  const speedMatch = speedText ? /^([0-9.]+)x$/.exec(speedText) : null;
  const speed = speedMatch ? Number(speedMatch[1]) : null;
  if (ended) return { percent: 100, speed: speed !== null && Number.isFinite(speed) ? speed : null };
  // out_time_ms is microseconds too (a historical misnomer); out_time_us is the honest name.
  const micros = Number(block.get('out_time_us') ?? block.get('out_time_ms'));
  let percent = 0;
  if (durationSeconds && durationSeconds > 0 && Number.isFinite(micros) && micros > 0) {
    percent = Math.min(99.9, Math.round((micros / 1e6 / durationSeconds) * 1000) / 10);
  }
  return { percent, speed: speed !== null && Number.isFinite(speed) ? speed : null };
}

const LEVEL_TAG = /^\[(panic|fatal|error|warning|info|verbose|debug|trace)\] /;
const COMPONENT = /^\[[^\]]* @ 0x[0-9a-f]+\] /;

/**
 * A stderr line without ffmpeg's decorations: the `[demuxer @ 0x…]` component, the
 * `[error]` level tag and a leading `<path>: ` of one of `paths`, so that a message is the
 * same for every file and never carries a temporary path. Returns the level separately.
 */
export function cleanStderrLine(line: string, paths: readonly string[] = []): { level: string | null; text: string } {
  let text = line.trim();
  let level: string | null = null;
  for (;;) {
    const component = COMPONENT.exec(text);
    if (component) {
      text = text.slice(component[0].length);
      continue;
    }
    const tag = LEVEL_TAG.exec(text);
    if (tag) {
      level = tag[1]!;
      text = text.slice(tag[0].length);
      continue;
    }
    break;
  }
  for (const path of paths) {
    if (path && text.startsWith(`${path}: `)) {
      text = text.slice(path.length + 2);
      break;
    }
  }
  return { level, text: text.trim() };
}

/** What decoders print about a damaged stream they went on decoding. */
const DECODE_ERROR = /Invalid NAL|error while decoding|corrupt|Truncat|concealing|partial file|missing picture|Invalid data found|non-existing PPS|decode_slice_header error|Error splitting the input|invalid frame size/i;

/** True when ffmpeg reported errors in the input (at error level, or in decoders' words). */
export function stderrShowsDecodeErrors(lines: readonly string[]): boolean {
  return lines.some((line) => {
    const { level, text } = cleanStderrLine(line);
    return level === 'error' || level === 'fatal' || level === 'panic' || DECODE_ERROR.test(text);
  });
}

/** Failures that are about the input's bytes: running ffmpeg again on them cannot succeed. */
const BAD_INPUT = [
  /moov atom not found/i,
  /Invalid data found when processing input/i,
  /matches no streams/i,
  /does not contain any stream/i,
  /Could not find codec parameters/i,
  /no such stream/i,
  /EBML header parsing failed/i,
  /Failed to read frame size/i,
  /could not find sync byte/i,
  /Invalid (?:argument|data) found in the stream/i,
];

/** Lines that say only that something earlier failed. */
const GENERIC = [
  /^Conversion failed!?$/i,
  /^Invalid data found when processing input$/i,
  /^Exiting normally/i,
  /^Error opening (?:input|output) files?/i,
  /^To ignore this, add a trailing '\?' to the map/i,
];

export interface StderrVerdict {
  /** The input is bad; no retry can help. */
  badInput: boolean;
  /** The most specific message: the last meaningful line, preferring a cause over a summary. */
  message: string;
}

/**
 * Why a failed ffmpeg or ffprobe run failed, from its stderr. The message is the last line
 * that says something specific ("moov atom not found") rather than the generic summary that
 * follows it ("Invalid data found when processing input"), without decorations or paths.
 */
export function stderrVerdict(lines: readonly string[], paths: readonly string[] = []): StderrVerdict {
  const cleaned = lines.map((l) => cleanStderrLine(l, paths)).filter((l) => l.text.length > 0);
  const badInput = cleaned.some((l) => BAD_INPUT.some((re) => re.test(l.text)));
  // Untagged lines come from ffprobe under `-v error`: errors as well.
  const isError = (l: { level: string | null }) => l.level === null || l.level === 'error' || l.level === 'fatal' || l.level === 'panic';
  const specific = (l: { text: string }) => !GENERIC.some((re) => re.test(l.text));
  const reversed = [...cleaned].reverse();
  const chosen = reversed.find((l) => isError(l) && specific(l)) ?? reversed.find(specific) ?? reversed[0];
  return { badInput, message: chosen?.text ?? 'no message on stderr' };
}

export function assertPath(what: string, path: string): void {
  // ffmpeg reads a leading '-' as an option and `name:` as a protocol; an absolute path is
  // neither.
  if (!isAbsolute(path)) throw new Error(`${what} must be an absolute path: ${JSON.stringify(path)}`);
}

/**
 * Frames for face suggestions: `framesPerSecond` of the original's first video stream (the
 * displayed, upright picture: ffmpeg applies the rotation), at most `maxFrames` of them, scaled
 * down (never up) to `width`, as numbered PNGs. Frame n (from 0) shows the picture at n / rate
 * seconds. Every frame is decoded, not keyframes only: a face between keyframes counts too.
 */
export function faceSampleArgs(input: string, outputPattern: string, framesPerSecond: number, width: number, maxFrames: number): string[] {
  assertPath('input', input);
  assertPath('outputPattern', outputPattern);
  if (!outputPattern.includes('%')) throw new Error('faceSampleArgs: outputPattern needs a frame number (e.g. face-%05d.png)');
  if (!Number.isFinite(framesPerSecond) || framesPerSecond <= 0) throw new Error(`faceSampleArgs: bad rate ${framesPerSecond}`);
  assertWidth(width);
  if (!Number.isInteger(maxFrames) || maxFrames < 1) throw new Error(`faceSampleArgs: bad frame limit ${maxFrames}`);
  return [
    ...COMMON,
    ...TOLERANT_INPUT,
    '-i', input,
    '-map', '0:V:0',
    '-map_metadata', '-1',
    '-vf', `fps=${seconds(framesPerSecond)},scale='min(${width},iw)':-2`,
    '-fps_mode', 'passthrough',
    '-frames:v', String(maxFrames),
    '-c:v', 'png',
    '-f', 'image2',
    outputPattern,
  ];
}

function assertWidth(width: number): void {
  if (!Number.isInteger(width) || width < 2) throw new Error(`bad width ${width}`);
}

/** Seconds as ffmpeg reads them, to the millisecond, without exponent notation. */
function seconds(value: number): string {
  return String(Math.round(value * 1000) / 1000);
}
