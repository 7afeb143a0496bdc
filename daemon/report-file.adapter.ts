import { rename, rm, writeFile } from 'node:fs/promises';

/**
 * Writes a report file whole or not at all: beside it first, then renamed, so a crash or a
 * full disk never leaves a half-written report that looks like a finished one.
 */
export async function writeReportFile(file: string, content: string | Buffer): Promise<void> {
  const part = `${file}.part`;
  try {
    await writeFile(part, content, { mode: 0o640 });
    await rename(part, file);
  } catch (error) {
    await rm(part, { force: true });
    throw error;
  }
}
