import { moduleLogger } from '../config/logger.ts';
import { DirectoryDriver } from './directory.driver.ts';
import { MassStorageDriver } from './mass-storage.driver.ts';
import type { ProbeHints, RecorderDriver, RecorderVolume } from './recorder.driver.ts';

/**
 * Which drivers look at what. The daemon offers mounts only to recorder drivers: the
 * directory driver accepts any folder, and would take every USB stick for a recorder.
 * `evidock import` is pointed at a folder on purpose, so the directory driver serves it.
 */

const log = moduleLogger('driver-registry');

export const massStorageDriver: RecorderDriver = new MassStorageDriver();
export const directoryDriver: RecorderDriver = new DirectoryDriver();

/** Drivers for volumes that appear under the watched mount roots. */
export const MOUNT_DRIVERS: readonly RecorderDriver[] = [massStorageDriver];
/** Drivers for a folder an operator names (`evidock import`, the demo). */
export const IMPORT_DRIVERS: readonly RecorderDriver[] = [directoryDriver];

/**
 * The first driver that recognises `mountPath`, or null. A driver that throws (a flaky
 * device) is logged and passed over so the next driver still gets its chance.
 */
export async function probeVolume(
  mountPath: string,
  hints: ProbeHints = {},
  drivers: readonly RecorderDriver[] = MOUNT_DRIVERS,
): Promise<RecorderVolume | null> {
  for (const driver of drivers) {
    let volume: RecorderVolume | null;
    try {
      volume = await driver.probe(mountPath, hints);
    } catch (err) {
      log.warn({ mountPath, driver: driver.name, err }, 'driver failed while probing; trying the next');
      continue;
    }
    if (volume !== null) {
      log.debug({ mountPath, driver: driver.name }, 'volume recognised');
      return volume;
    }
  }
  return null;
}
