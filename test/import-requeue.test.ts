import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFolder } from '../daemon/cli.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { checkInvariants, sha256Of } from './support/invariants.ts';
import { expectCompleteAndSafe, makeRecorder } from './support/ingest-checks.ts';
import { redisCli } from './support/redis-failover.ts';
import { createTestEnv, type TestEnv } from './support/test-env.ts';

/**
 * `evidock import` (no daemon running) when Redis loses the import's jobs mid-import — what
 * a failover that drops acknowledged writes, or a flushed Redis, does: every BullMQ key of
 * this environment is deleted on the real Redis while recordings still wait to be copied.
 * PostgreSQL still says where each file is, and the import queues their jobs again from it
 * (without that, this import waits for ever: tried with ingest.reconcileSeconds at an hour).
 */

const FILES = 10;
const BYTES = 6 * 1024 * 1024;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('evidock import re-queues the jobs Redis lost', () => {
  let env: TestEnv;
  let rt: Runtime;

  beforeAll(async () => {
    // One recording copied at a time, so most of them are still waiting when the keys go.
    env = await createTestEnv('importrequeue', { ingest: { reconcileSeconds: 2, maxConcurrentAcquisitions: 1 } });
    rt = await env.runtime();
  }, 60_000);

  afterAll(async () => {
    await env?.cleanup();
  });

  it('completes with every file verified once and none duplicated after its BullMQ keys are deleted', async () => {
    const folder = join(env.dir, 'rec');
    const sources = makeRecorder(folder, 'ZFYRQ1', FILES, BYTES);
    const importing = importFolder(rt, folder, { serial: 'ZFYRQ1', case: ['YB2026-419'], json: true });
    importing.catch(() => undefined);

    const { host, port, prefix } = rt.config.redis as { host: string; port: number; prefix: string };
    expect(host).toBe('127.0.0.1');
    const stages = async () => (await rt.db.query<{ stage: string }>('SELECT stage FROM session_files WHERE recorder_serial = $1', ['ZFYRQ1'])).rows.map((r) => r.stage);
    let waiting = 0;
    for (;;) {
      const now = await stages();
      waiting = now.filter((s) => s === 'queued').length;
      // Past the docking (its jobs are in Redis: one recording is already copied), not near its end.
      const started = now.some((s) => s !== 'queued' && s !== 'acquiring');
      if (started && waiting >= 3) break;
      if (started && waiting < 3) throw new Error(`the recorder was copied before the keys could be deleted (stages ${now.join(',')}): use more or larger files`);
      await sleep(10);
    }
    // Every key of this environment's queues: waiting lists, job hashes, markers, meta.
    const deleted = Number(redisCli(port, 'eval', "local n = 0 for _, k in ipairs(redis.call('keys', ARGV[1])) do n = n + redis.call('del', k) end return n", '0', `${prefix}:*`));
    expect(deleted).toBeGreaterThan(0);
    expect(redisCli(port, 'eval', "return #redis.call('keys', ARGV[1])", '0', `${prefix}:*`)).toBe('0');

    const result = await importing;
    await expectCompleteAndSafe(rt, folder, sources, result);
    const report = await checkInvariants(rt, [...sources].map(([path, bytes]) => ({ path: join(folder, path), sha256: sha256Of(bytes), size: bytes.length })));
    // The media queues' jobs wait for worker hosts this import does not run: not the import's.
    expect({ lost: report.filesLost, duplicates: report.duplicates, mismatches: report.shaMismatches, unverifiedClears: report.unverifiedClears, ledgerOk: report.ledgerOk }).toEqual({
      lost: 0,
      duplicates: 0,
      mismatches: 0,
      unverifiedClears: 0,
      ledgerOk: true,
    });
  }, 240_000);
});
