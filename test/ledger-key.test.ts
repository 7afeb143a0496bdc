import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../config/config.loader.ts';

// Processes that start together on a fresh workstation (pm2 starts the daemon and the
// workers at once) must end up with one signing key, and none may read a half-written one.
const LOADER = `
import { loadOrCreateWorkstationKey } from ${JSON.stringify(resolve(REPO_ROOT, 'storage/ledger-key.store.ts'))};
const key = loadOrCreateWorkstationKey(process.argv[1], 'ws-race');
process.stdout.write(key.keyId);
`;

function loadKeyInChild(dir: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', LOADER, dir], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => done({ code, out, err }));
  });
}

describe('workstation signing key', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('processes creating it at the same moment all get the same key, and no temporary file is left', async () => {
    for (let round = 0; round < 4; round++) {
      const dir = mkdtempSync(join(tmpdir(), 'evidock-key-'));
      dirs.push(dir);
      const results = await Promise.all([0, 1, 2, 3].map(() => loadKeyInChild(join(dir, 'keys'))));
      for (const r of results) expect(r, r.err).toMatchObject({ code: 0, out: expect.stringMatching(/^[0-9a-f]{16}$/) });
      expect(new Set(results.map((r) => r.out)).size).toBe(1);
      expect(readdirSync(join(dir, 'keys'))).toEqual(['ws-race.ed25519.pem']);
      expect(statSync(join(dir, 'keys', 'ws-race.ed25519.pem')).mode & 0o777).toBe(0o600);
    }
  });
});
