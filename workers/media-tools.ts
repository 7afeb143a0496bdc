/**
 * The media tools as the media service sees them. Adapters implement these over ffprobe,
 * ffmpeg (through fluent-ffmpeg, confined to one file), exiftool-vendored and sharp, so
 * the service's decisions are unit-testable with strict fakes and any tool can be swapped.
 */

export interface StreamInfo {
  index: number;
  kind: 'video' | 'audio' | 'subtitle' | 'data' | 'other';
  codec: string | null;
  width: number | null;
  height: number | null;
  /** Average frame rate (frames per second), null when unknown. */
  frameRate: number | null;
  /** True when r_frame_rate and avg_frame_rate disagree (variable frame rate). */
  variableFrameRate: boolean;
  /** Display rotation in degrees (0, 90, 180, 270), from side data or tags. */
  rotation: number;
  durationSeconds: number | null;
  sampleRate: number | null;
  channels: number | null;
}

export interface ProbeInfo {
  container: string | null;
  durationSeconds: number | null;
  bitRate: number | null;
  streams: StreamInfo[];
  /** Container-level tags (creation_time, location, make, model, …), keys lower-cased. */
  tags: Record<string, string>;
}

/** ffprobe's verdict. `error` is ffprobe's own last line, e.g. "moov atom not found". */
export type ProbeOutcome = { ok: true; info: ProbeInfo } | { ok: false; error: string };

/** What the proxy job records of a file its ffmpeg has just written. */
export type OutputOutcome =
  | { ok: true; durationSeconds: number | null; width: number | null; height: number | null; readBy: 'header' | 'ffprobe' }
  | { ok: false; error: string };

export interface MediaProber {
  probe(path: string): Promise<ProbeOutcome>;
  /** A file evidock's ffmpeg wrote (faststart MP4): read from its own header, by ffprobe when that is not possible. */
  probeOutput(path: string): Promise<OutputOutcome>;
  version(): Promise<string>;
}

/** What exiftool finds that the catalog cares about; every field optional. */
export interface EmbeddedMetadata {
  /** Capture start as written by the device, ISO 8601 (with offset when the file says). */
  createDate: string | null;
  make: string | null;
  model: string | null;
  serialNumber: string | null;
  /** Officer or device ids some recorders write (e.g. UserComment, Artist, custom tags). */
  ownerIds: string[];
  gps: { latitude: number; longitude: number; altitude: number | null } | null;
  /** Number of GPS fixes when the file carries a track. */
  gpsTrackPoints: number;
  /** All tags exiftool returned, for the record (bounded in size by the adapter). */
  raw: Record<string, unknown>;
}

export interface MetadataReader {
  read(path: string): Promise<EmbeddedMetadata>;
  version(): Promise<string>;
  close(): Promise<void>;
}

export interface TranscodeProgress {
  percent: number;
  /** Multiple of real time, e.g. 3.2 for "3.2x". */
  speed: number | null;
}

export interface TranscodeResult {
  /** The last lines ffmpeg wrote to stderr: decoding errors of a damaged input show here. */
  stderrTail: string[];
  /** True when ffmpeg reported decoding errors but still produced output. */
  hadErrors: boolean;
}

export interface TranscodeOptions {
  durationSeconds: number | null;
  onProgress?: (p: TranscodeProgress) => void;
  /** Kills ffmpeg when aborted (the process is stopping); the run then fails with TranscodeStoppedError. */
  signal?: AbortSignal;
}

/** ffmpeg was killed because the job's process is stopping, not because of its input. */
export class TranscodeStoppedError extends Error {
  constructor() {
    super('ffmpeg was stopped: this process is stopping');
    this.name = 'TranscodeStoppedError';
  }
}

export interface Transcoder {
  /** Runs ffmpeg with exactly these arguments (from ffmpeg-args.ts). */
  run(args: readonly string[], options: TranscodeOptions): Promise<TranscodeResult>;
  version(): Promise<string>;
}

export interface ImageInfo {
  width: number;
  height: number;
  format: string;
}

export interface ImageTool {
  /**
   * A resized copy (never enlarged), EXIF orientation applied, metadata stripped. Strict:
   * a corrupt or truncated image is an error, not a half-grey preview.
   */
  resize(input: string, output: string, options: { width: number; format: 'jpeg' | 'webp'; quality: number }): Promise<ImageInfo>;
  /** Frames laid out left to right, top to bottom, `columns` per row, each `tileWidth` wide. */
  sprite(frames: readonly string[], output: string, options: { columns: number; tileWidth: number; format: 'webp' | 'jpeg'; quality: number }): Promise<ImageInfo>;
  inspect(path: string): Promise<ImageInfo>;
  version(): string;
}

/** A tool failed on this input in a way no retry will change (corrupt data). */
export class MediaInputError extends Error {
  constructor(
    readonly tool: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${tool}: ${message}`, options);
    this.name = 'MediaInputError';
  }
}
