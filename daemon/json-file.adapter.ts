import { readFile } from 'node:fs/promises';

/** A JSON file an operator names on the command line (a redaction spec), parsed; the error says what is wrong with it. */
export async function readJsonFile(path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, 'utf8')) as unknown;
}
