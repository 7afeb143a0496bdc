import { basename } from 'node:path';
import sharp from 'sharp';
import { moduleLogger } from '../config/logger.ts';
import { MediaInputError, type ImageInfo, type ImageTool } from './media-tools.ts';

const log = moduleLogger('sharp');

/**
 * 'warning' is the strictest level, and the only one that refuses a JPEG whose compressed data
 * is garbage: libjpeg reports that ("Corrupt JPEG data: premature end of data segment") as a
 * warning, so at 'error' or 'truncated' sharp would draw a smeared preview of a damaged photo.
 */
const FAIL_ON = 'warning' as const;

/**
 * libjpeg warnings that some camera firmware triggers on intact photos (padding before a
 * marker, odd scan parameters). Such a photo gets a second decode at 'error', which still
 * refuses truncation and real decoding errors.
 */
const FIRMWARE_QUIRK = /extraneous bytes before marker|Invalid SOS parameters for sequential JPEG/i;

/** Failures of our side (disk, permissions, a missing working copy), which a retry may fix. */
const OUR_SIDE = /Input file is missing|unable to open (?:.* )?for writ|No such file or directory|No space left|Permission denied|Read-only file system|EACCES|ENOSPC|EMFILE|ENOENT/i;

/** WebP cannot be larger than this in either dimension. */
const WEBP_MAX = 16383;

/**
 * sharp behind ImageTool. Outputs never carry metadata (sharp drops it unless asked to keep
 * it): a preview of a photo must not repeat its GPS position or device serial.
 */
export class SharpImageTool implements ImageTool {
  constructor() {
    // libvips caches decoded files by path; working copies live at reused paths, and a cached
    // decode of the previous file at a path would silently be the wrong picture.
    sharp.cache(false);
  }

  async resize(input: string, output: string, options: { width: number; format: 'jpeg' | 'webp'; quality: number }): Promise<ImageInfo> {
    assertSize('width', options.width);
    assertQuality(options.quality);
    return decoding(input, async (failOn) => {
      const pipeline = sharp(input, { failOn }).autoOrient().resize({ width: options.width, withoutEnlargement: true });
      const info = await encode(pipeline, options.format, options.quality).toFile(output);
      return { width: info.width, height: info.height, format: info.format };
    });
  }

  async sprite(frames: readonly string[], output: string, options: { columns: number; tileWidth: number; format: 'webp' | 'jpeg'; quality: number }): Promise<ImageInfo> {
    if (frames.length === 0) throw new Error('sprite: no frames');
    assertSize('columns', options.columns);
    assertSize('tileWidth', options.tileWidth);
    assertQuality(options.quality);
    const tiles: Array<{ data: Buffer; height: number }> = [];
    // One at a time: a storyboard may have a thousand frames.
    for (const frame of frames) {
      tiles.push(
        await decoding(frame, async (failOn) => {
          // Tiles must share a width to form a grid, so small frames are enlarged here.
          const { data, info } = await sharp(frame, { failOn }).autoOrient().resize({ width: options.tileWidth }).png().toBuffer({ resolveWithObject: true });
          return { data, height: info.height };
        }),
      );
    }
    const tileHeight = Math.max(...tiles.map((t) => t.height));
    const columns = Math.min(options.columns, tiles.length);
    const width = columns * options.tileWidth;
    const height = Math.ceil(tiles.length / options.columns) * tileHeight;
    if (options.format === 'webp' && (width > WEBP_MAX || height > WEBP_MAX)) {
      throw new Error(`sprite: ${width}x${height} is larger than WebP allows (${WEBP_MAX}); use fewer frames or more columns`);
    }
    const canvas = sharp({ create: { width, height, channels: 3, background: { r: 0, g: 0, b: 0 } } }).composite(
      tiles.map((tile, i) => ({ input: tile.data, left: (i % options.columns) * options.tileWidth, top: Math.floor(i / options.columns) * tileHeight })),
    );
    const info = await encode(canvas, options.format, options.quality).toFile(output);
    return { width: info.width, height: info.height, format: info.format };
  }

  /** Header facts only (no pixel decoding); dimensions as displayed, after EXIF orientation. */
  async inspect(path: string): Promise<ImageInfo> {
    return decoding(path, async (failOn) => {
      const meta = await sharp(path, { failOn }).metadata();
      const width = meta.autoOrient?.width ?? meta.width;
      const height = meta.autoOrient?.height ?? meta.height;
      if (!width || !height || !meta.format) throw new Error('image has no dimensions');
      return { width, height, format: meta.format };
    });
  }

  version(): string {
    return `sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips})`;
  }
}

function encode(pipeline: sharp.Sharp, format: 'jpeg' | 'webp', quality: number): sharp.Sharp {
  return format === 'jpeg' ? pipeline.jpeg({ quality }) : pipeline.webp({ quality });
}

/**
 * Runs `work` strictly; a firmware quirk gets one more try at 'error'. Decoding failures
 * become MediaInputError, failures of our side stay plain errors.
 */
async function decoding<T>(input: string, work: (failOn: 'warning' | 'error') => Promise<T>): Promise<T> {
  try {
    return await work(FAIL_ON);
  } catch (strictError) {
    const message = messageOf(strictError);
    if (OUR_SIDE.test(message)) throw strictError;
    if (!FIRMWARE_QUIRK.test(message)) throw new MediaInputError('sharp', firstLine(message), { cause: strictError });
    try {
      const result = await work('error');
      log.warn({ file: basename(input), warning: firstLine(message) }, 'image has a libjpeg quirk but decodes; preview made');
      return result;
    } catch (error) {
      if (OUR_SIDE.test(messageOf(error))) throw error;
      throw new MediaInputError('sharp', firstLine(messageOf(error)), { cause: error });
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.trim();
}

function assertQuality(quality: number): void {
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) throw new Error(`bad quality ${quality}`);
}

function assertSize(what: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new Error(`bad ${what} ${value}`);
}
