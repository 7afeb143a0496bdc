import type { Readable } from 'node:stream';
import { WatermarkError } from '../archive/watermark-text.ts';
import { watermarkArgs, type WatermarkSettings } from './ffmpeg-args.ts';
import { MediaInputError, type MediaProber, type Transcoder } from './media-tools.ts';
import type { MediaWorkspaces } from './media-workspace.ts';

export interface ProxyWatermarkDeps {
  transcoder: Transcoder;
  prober: MediaProber;
  workspaces: Pick<MediaWorkspaces, 'create'>;
  settings: WatermarkSettings;
}

/**
 * Burns text into a copy of a playback proxy, on local scratch space (ffmpeg needs a seekable
 * file), with the media workers' ffmpeg adapter and argument builder. The copy is checked to
 * be a playable MP4 before anyone receives it, and the scratch space goes whatever happens.
 */
export class ProxyWatermarkService {
  constructor(private readonly deps: ProxyWatermarkDeps) {}

  async burnIn<T>(proxy: Readable, lines: readonly string[], write: (copy: Readable) => Promise<T>): Promise<T> {
    const ws = await this.deps.workspaces.create('watermark');
    try {
      await ws.write('proxy.mp4', proxy);
      const output = ws.path('watermarked.mp4');
      try {
        await this.deps.transcoder.run(watermarkArgs(ws.path('proxy.mp4'), output, lines, this.deps.settings), { durationSeconds: null });
      } catch (error) {
        if (error instanceof MediaInputError) throw new WatermarkError(error.message, { cause: error });
        throw error;
      }
      const made = await this.deps.prober.probeOutput(output);
      if (!made.ok) throw new WatermarkError(made.error);
      return await write(ws.read('watermarked.mp4'));
    } finally {
      await ws.dispose();
    }
  }

  version(): Promise<string> {
    return this.deps.transcoder.version();
  }
}
