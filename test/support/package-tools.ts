import { execFile, execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { REPO_ROOT } from '../../config/config.loader.ts';

let bagitPy: string | undefined;

/** The Library of Congress validator (bagit.py from PyPI, pinned by scripts/python-tool.sh): its exit code and what it said. */
export function bagitValidate(dir: string): Promise<{ code: number; output: string }> {
  bagitPy ??= execFileSync('bash', [resolve(REPO_ROOT, 'scripts/python-tool.sh'), 'bagit'], { encoding: 'utf8' }).trim();
  return new Promise((done) =>
    execFile(bagitPy!, ['--validate', dir], { encoding: 'utf8', timeout: 120_000 }, (error, stdout, stderr) =>
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` }),
    ),
  );
}

/** Unpacks a .zip with Python's zipfile: a reader that is not the one that wrote it. */
export function unzip(file: string, into: string): void {
  execFileSync('python3', ['-m', 'zipfile', '-e', file, into]);
}
