import { segmentsOf, type BoxSegment, type RedactionSpec, type TimeRange } from '../archive/redaction-project.ts';
import { assertPath, COMMON, videoEncode, type MediaSettings } from './ffmpeg-args.ts';

/**
 * The ffmpeg command of a redacted copy, as pure functions of the spec and the picture it is
 * drawn on. The input is the item's playback proxy: upright, of even size, and the very
 * picture the editor's boxes were drawn on, so normalised coordinates map onto it exactly.
 *
 * The graph, per span of a box between two keyframes: a copy of the frame is cropped to the
 * box, blurred or pixelated, and laid back over the frame at the same place, only between the
 * span's two times (`enable`). Crop and overlay positions are expressions of `t`, so the box
 * moves linearly from one keyframe to the next. ffmpeg fixes a crop's size when the graph
 * starts, so a box that changes size within a span is covered by a rectangle of its larger
 * size moving with the box's centre: never less than the box, at most the growth more.
 * Full-frame blur ranges follow, then the sound: muted over mute and tone ranges, and a tone
 * mixed in over the tone ranges.
 */

export type RedactionRenderSettings = Pick<MediaSettings, 'proxyCrf' | 'proxyPreset' | 'audioBitrateKbps'>;

/** The picture and sound of the input, as ffprobe read them. */
export interface RenderInput {
  width: number;
  height: number;
  /** null: no sound (audio ranges are then refused when the spec is saved). */
  audio: { sampleRate: number; channels: number } | null;
}

/** Pixels added on each side of a box: positions are rounded to even pixels for 4:2:0 chroma, which may shift a crop by up to two. */
export const BOX_MARGIN_PX = 2;
/** The bleep of a tone range. */
export const TONE_HZ = 1000;

export interface RedactionGraph {
  graph: string;
  /** Labels of the graph's outputs. */
  video: string;
  audio: string | null;
}

export function redactionFilterGraph(spec: RedactionSpec, input: RenderInput): RedactionGraph {
  const { width: W, height: H } = input;
  if (!Number.isInteger(W) || !Number.isInteger(H) || W < 16 || H < 16) throw new Error(`redactionFilterGraph: bad frame size ${W}x${H}`);
  const segments = spec.boxes.flatMap(segmentsOf);
  const chains: string[] = [];
  // Timestamps from 0, as the editor's player counts them.
  const head = '[0:v]setpts=PTS-STARTPTS,format=yuv420p';
  let current = 'v0';
  if (segments.length === 0) chains.push(`${head}[${current}]`);
  else {
    chains.push(`${head},split=${segments.length + 1}[${current}]${segments.map((_, i) => `[s${i}]`).join('')}`);
    segments.forEach((segment, i) => {
      const place = placement(segment, W, H);
      chains.push(`[s${i}]crop=w=${place.w}:h=${place.h}:x=${place.x}:y=${place.y},${hide(segment.mode, place.w, place.h)}[b${i}]`);
      const next = `v${i + 1}`;
      chains.push(`[${current}][b${i}]overlay=x=${place.x}:y=${place.y}:eval=frame:enable=${during([segment])}[${next}]`);
      current = next;
    });
  }
  if (spec.blurRanges.length > 0) {
    const r = blurRadii(W, H, 16);
    chains.push(`[${current}]boxblur=luma_radius=${r.luma}:luma_power=3:chroma_radius=${r.chroma}:chroma_power=3:enable=${during(spec.blurRanges)}[vout]`);
  } else chains.push(`[${current}]null[vout]`);

  let audio: string | null = null;
  if (input.audio) {
    audio = 'aout';
    const tones = spec.audioRanges.filter((r) => r.mode === 'tone');
    const silenced = spec.audioRanges.length > 0 ? `,volume=volume=0:enable=${during(spec.audioRanges)}` : '';
    if (tones.length === 0) chains.push(`[0:a]asetpts=PTS-STARTPTS${silenced}[aout]`);
    else {
      const layout = input.audio.channels === 1 ? 'mono' : input.audio.channels === 2 ? 'stereo' : `${input.audio.channels}c`;
      chains.push(`[0:a]asetpts=PTS-STARTPTS${silenced}[am]`);
      chains.push(`sine=frequency=${TONE_HZ}:sample_rate=${input.audio.sampleRate},volume=volume=0:enable=not(${during(tones)}),aformat=sample_fmts=fltp:channel_layouts=${layout}[tone]`);
      // normalize=0: a plain sum, so the sound outside the ranges keeps its level.
      chains.push('[am][tone]amix=inputs=2:duration=first:dropout_transition=0:normalize=0[aout]');
    }
  }
  return { graph: chains.join(';'), video: 'vout', audio };
}

/**
 * The whole command: the proxy in, an H.264/AAC MP4 of the same size out, encoded as proxies
 * are. No metadata is copied (as for proxies).
 */
export function redactionArgs(inputPath: string, output: string, spec: RedactionSpec, input: RenderInput, settings: RedactionRenderSettings): string[] {
  assertPath('input', inputPath);
  assertPath('output', output);
  const g = redactionFilterGraph(spec, input);
  return [
    ...COMMON,
    '-i', inputPath,
    '-filter_complex', g.graph,
    '-map', `[${g.video}]`,
    ...(g.audio ? ['-map', `[${g.audio}]`] : []),
    '-map_metadata', '-1',
    '-map_chapters', '-1',
    ...videoEncode(settings),
    ...(g.audio ? ['-c:a', 'aac', '-b:a', `${settings.audioBitrateKbps}k`] : ['-an']),
    '-movflags', '+faststart',
    '-f', 'mp4',
    output,
  ];
}

/** Crop size (fixed) and position (expressions of t) of one span, in pixels of a W×H frame. */
export function placement(segment: BoxSegment, W: number, H: number): { w: number; h: number; x: string; y: string } {
  const size = (a: number, b: number, full: number) => Math.min(evenDown(full), evenUp(round3(Math.max(a, b) * full)) + 2 * BOX_MARGIN_PX);
  const w = size(segment.start.w, segment.end.w, W);
  const h = size(segment.start.h, segment.end.h, H);
  const axis = (c0: number, c1: number, extent: number, full: number): string => {
    const max = evenDown(full) - extent;
    if (max <= 0) return '0';
    // Rounded first: 0.35 × 360 is 125.99999999999999 in floating point, and floor would show it.
    const centre0 = round3(c0 * full);
    const centre1 = round3(c1 * full);
    if (centre0 === centre1) return String(Math.min(max, Math.max(0, 2 * Math.floor((centre0 - extent / 2) / 2))));
    const progress = `clip((t-${num(segment.from)})/${num(segment.to - segment.from)}\\,0\\,1)`;
    return `clip(2*floor((${num(centre0)}+${num(centre1 - centre0)}*${progress}-${extent / 2})/2)\\,0\\,${max})`;
  };
  return {
    w,
    h,
    x: axis(segment.start.x + segment.start.w / 2, segment.end.x + segment.end.w / 2, w, W),
    y: axis(segment.start.y + segment.start.h / 2, segment.end.y + segment.end.h / 2, h, H),
  };
}

/** The filter that makes a cropped box unreadable: a strong box blur, or blocks of about a sixth of the box. */
function hide(mode: BoxSegment['mode'], w: number, h: number): string {
  if (mode === 'pixelate') {
    const block = Math.max(4, Math.round(Math.min(w, h) / 6));
    return `pixelize=width=${block}:height=${block}`;
  }
  const r = blurRadii(w, h, 4);
  return `boxblur=luma_radius=${r.luma}:luma_power=3:chroma_radius=${r.chroma}:chroma_power=3`;
}

/**
 * boxblur's radii for a w×h picture: `1/divisor` of its smaller side, at most 40, and half that
 * for the half-size chroma planes (boxblur refuses a radius over half a plane's smaller side).
 */
function blurRadii(w: number, h: number, divisor: number): { luma: number; chroma: number } {
  const luma = Math.max(1, Math.min(40, Math.floor(Math.min(w, h) / divisor)));
  return { luma, chroma: Math.floor(luma / 2) };
}

/** An `enable` expression true within any of the ranges (ends included), commas escaped for the graph. */
function during(ranges: readonly TimeRange[] | readonly BoxSegment[]): string {
  return ranges.map((r) => `between(t\\,${num(r.from)}\\,${num(r.to)})`).join('+');
}

function evenUp(v: number): number {
  return 2 * Math.ceil(v / 2 - 1e-9);
}

function evenDown(v: number): number {
  return 2 * Math.floor(v / 2);
}

/** To the millisecond (or 1/1000 px), without exponent notation. */
function num(v: number): string {
  return String(round3(v));
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
