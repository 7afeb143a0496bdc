import { moduleLogger } from '../config/logger.ts';
import type { RecorderDriver, RecorderVolume } from '../drivers/recorder.driver.ts';
import type { SessionRow } from '../storage/catalog.repository.ts';
import type { VolumeResolver } from '../workers/ingest.service.ts';

const log = moduleLogger('volumes');

/**
 * Finds the recorder of a session for the device-bound workers: the live volume object if
 * this process docked it, else the session's driver probing its mount path again (after a
 * restart). A volume at that path that is not the same recorder is never used: reading or
 * clearing another officer's recorder by mistake is exactly what must not happen.
 */
export class VolumeRegistry implements VolumeResolver {
  private readonly live = new Map<string, RecorderVolume>();

  constructor(private readonly drivers: readonly RecorderDriver[]) {}

  remember(sessionId: string, volume: RecorderVolume): void {
    this.live.set(sessionId, volume);
  }

  forget(sessionId: string): void {
    this.live.delete(sessionId);
  }

  sessionsAt(mountPath: string): string[] {
    return [...this.live.entries()].filter(([, v]) => v.root === mountPath).map(([id]) => id);
  }

  async resolve(session: SessionRow): Promise<RecorderVolume | null> {
    const known = this.live.get(session.id);
    if (known) return known;
    const driver = this.drivers.find((d) => d.name === session.driver);
    if (!driver) {
      log.warn({ sessionId: session.id, driver: session.driver }, 'no driver of that name in this process');
      return null;
    }
    const volume = await driver.probe(session.mountPath, { serial: session.recorderSerial });
    if (!volume) return null;
    const identity = await volume.identify();
    if (identity.serial !== session.recorderSerial) {
      log.warn({ sessionId: session.id, expected: session.recorderSerial, found: identity.serial }, 'a different recorder is mounted there');
      return null;
    }
    this.live.set(session.id, volume);
    return volume;
  }
}
