import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database } from '../storage/postgres.database.ts';
import { createTestEnv, type TestEnv } from './support/test-env.ts';

/**
 * A session lock holds a pooled connection while its work takes another. Many lock holders on
 * a small pool must queue for the lock slots instead of each holding one connection while
 * waiting for a second until the pool's timeout fails them all (what the province simulation
 * met: `timeout exceeded when trying to connect`).
 */
describe('PostgreSQL pool under session locks', () => {
  let env: TestEnv;
  let db: Database;

  beforeAll(async () => {
    env = await createTestEnv('pgpool');
    db = new Database({ ...env.config.postgres, maxConnections: 4 });
  }, 60_000);
  afterAll(async () => {
    await db?.close();
    await env?.cleanup();
  });

  it('runs three times the pool in concurrent locked jobs whose work opens a transaction, and every one completes', async () => {
    let holding = 0;
    let most = 0;
    const jobs = Array.from({ length: 12 }, (_, i) =>
      db.withLock(`pool-test:${i}`, async () => {
        holding += 1;
        most = Math.max(most, holding);
        try {
          return await db.transaction(async (tx) => {
            await tx.query('SELECT pg_sleep(0.2)');
            return (await tx.query<{ n: number }>('SELECT $1::int AS n', [i])).rows[0]!.n;
          });
        } finally {
          holding -= 1;
        }
      }),
    );
    const settled = await Promise.allSettled(jobs);
    expect(settled.filter((s) => s.status === 'rejected').map((s) => String((s as PromiseRejectedResult).reason))).toEqual([]);
    expect(settled.map((s) => (s as PromiseFulfilledResult<number>).value)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    // Half the pool holds locks; the other half serves their work.
    expect(most).toBe(2);
  }, 60_000);
});
