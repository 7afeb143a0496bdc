/** Whether dist/ may run in place of the TypeScript sources under `root` (see dist-freshness.js). */
export function distIsFresh(root: string): boolean;
/** The folders whose sources dist/ is built from. */
export const SOURCE_DIRS: readonly string[];
