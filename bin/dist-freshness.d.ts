/** Whether dist/ under `root` is newer than every source file (see dist-freshness.js). */
export function distIsFresh(root: string): boolean;
/** The folders whose sources dist/ is built from. */
export const SOURCE_DIRS: readonly string[];
