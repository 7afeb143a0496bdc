import { moduleLogger } from '../config/logger.ts';
import type { EmbeddedMetadata, ImageInfo, ImageTool, MetadataReader } from './media-tools.ts';

/**
 * sharp (libvips) and exiftool-vendored, loaded on first use. Imported eagerly they added
 * ~20 MiB to the resident set of every evidock process, and the daemon of a workstation
 * that only ingests (media jobs run on worker hosts, or later) never calls them: the
 * daemon's memory target is 200 MB while it ingests a 4 GB file.
 */

const log = moduleLogger('media-tools');

/** ImageTool.version() was asked before any image was made, so sharp is not loaded yet. */
export class ImageToolNotLoadedError extends Error {
  constructor() {
    super('image tool version asked before the tool was first used (sharp is loaded on first use)');
    this.name = 'ImageToolNotLoadedError';
  }
}

export class LazyImageTool implements ImageTool {
  private loading: Promise<ImageTool> | null = null;
  private loaded: ImageTool | null = null;

  resize(...args: Parameters<ImageTool['resize']>): Promise<ImageInfo> {
    return this.tool().then((t) => t.resize(...args));
  }

  sprite(...args: Parameters<ImageTool['sprite']>): Promise<ImageInfo> {
    return this.tool().then((t) => t.sprite(...args));
  }

  inspect(path: string): Promise<ImageInfo> {
    return this.tool().then((t) => t.inspect(path));
  }

  /** Callers read it after making an image (the recipe follows the result), so it is loaded. */
  version(): string {
    if (!this.loaded) throw new ImageToolNotLoadedError();
    return this.loaded.version();
  }

  private tool(): Promise<ImageTool> {
    this.loading ??= import('./sharp.adapter.ts').then((m) => {
      log.debug('sharp loaded');
      this.loaded = new m.SharpImageTool();
      return this.loaded;
    });
    return this.loading;
  }
}

export class LazyMetadataReader implements MetadataReader {
  private loading: Promise<MetadataReader> | null = null;

  read(path: string): Promise<EmbeddedMetadata> {
    return this.reader().then((r) => r.read(path));
  }

  version(): Promise<string> {
    return this.reader().then((r) => r.version());
  }

  /** Ends exiftool's processes if it was ever started; nothing to do otherwise. */
  async close(): Promise<void> {
    if (this.loading) await (await this.loading).close();
  }

  private reader(): Promise<MetadataReader> {
    this.loading ??= import('./exiftool.adapter.ts').then((m) => {
      log.debug('exiftool-vendored loaded');
      return new m.ExiftoolReader();
    });
    return this.loading;
  }
}
