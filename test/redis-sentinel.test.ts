import { afterEach, describe, expect, it } from 'vitest';
import type { Runtime } from '../daemon/runtime.ts';
import { freePort, startPrivateRedisSentinel, stopAllPrivateServices, type PrivateRedisSentinel } from './support/private-services.ts';
import { createTestEnv, eventually, type TestEnv } from './support/test-env.ts';
import { expectCompleteAndSafe } from './support/ingest-checks.ts';
import { ingestThroughSentinelFailover, redisCli, sentinelMasterPort, type FailoverRun } from './support/redis-failover.ts';

/**
 * BullMQ on Redis under Sentinel (issue 19): a master, one replica and three Sentinels
 * started by each case on free loopback ports (AOF on, as the stack runs Redis), evidock in
 * sentinel mode pointed at the Sentinels only. A recorder is docked and, once a recording
 * is past acquisition and others still wait in the acquire queue, the master is replaced:
 * by `SENTINEL FAILOVER` (the master hands over to its replica) or by a SIGKILL of the
 * master (the Sentinels agree it is down and promote the replica). The ingest must then
 * finish through the new master with nothing lost, duplicated or cleared unverified.
 */

const TEST_TIMEOUT_MS = 180_000;
const INGEST = { backoffSeconds: 0.2, attempts: 12, spoolMinFreeMiB: 0, spoolRetryDelaySeconds: 1 };
const NAME = 'evidock-t';

describe('BullMQ on Redis with Sentinel failover (a master, a replica, 3 Sentinels)', () => {
  let envs: TestEnv[] = [];
  let runtimes: Runtime[] = [];

  afterEach(async () => {
    for (const rt of runtimes) await Promise.race([rt.close().catch(() => undefined), new Promise((r) => setTimeout(r, 20_000))]);
    await stopAllPrivateServices();
    for (const env of envs) await env.cleanup();
    envs = [];
    runtimes = [];
  }, 120_000);

  /** A fresh Sentinel set and an isolated evidock that knows only its Sentinels. */
  const sentinelSetup = async (label: string): Promise<{ env: TestEnv; set: PrivateRedisSentinel; rt: Runtime }> => {
    const servers = [await freePort(), await freePort()];
    const sentinels = [await freePort(), await freePort(), await freePort()];
    const env = await createTestEnv(label, {
      redis: { mode: 'sentinel', sentinels: sentinels.map((port) => ({ host: '127.0.0.1', port })), name: NAME, prefix: `t-${label}`, password: undefined, db: 0, tls: { enabled: false } },
      ingest: INGEST,
    });
    envs.push(env);
    const set = await startPrivateRedisSentinel(env.dir, NAME, servers, sentinels);
    const rt = await env.runtime();
    runtimes.push(rt);
    return { env, set, rt };
  };

  /** The failover really happened: the old replica is the master every Sentinel names, and the queues' keys are on it. */
  const expectPromoted = (set: PrivateRedisSentinel, run: FailoverRun, replicaPort: number) => {
    // eslint-disable-next-line no-console
    console.log(
      `master 127.0.0.1:${run.formerPort} → 127.0.0.1:${run.promotedPort} after ${run.promotionMs} ms; ` +
        `${run.vanishedJobs} of ${run.waitingAtFault} waiting acquire jobs gone from it; stall (fault → next acquisition of a waiting recording) ${run.stallMs} ms`,
    );
    expect(run.formerPort).toBe(set.servers[0]!.port);
    expect(run.promotedPort).toBe(replicaPort);
    for (const s of set.sentinels) expect(sentinelMasterPort(s.port, NAME), `master named by Sentinel ${s.port}`).toBe(replicaPort);
    expect(redisCli(replicaPort, 'role').split('\n')[0]).toBe('master');
  };

  it(
    'SENTINEL FAILOVER mid-ingest: the replica becomes master, the old master its replica, and every file is stored, verified and cleared once',
    async () => {
      const { env, set, rt } = await sentinelSetup('rsentfo');
      const replicaPort = set.servers[1]!.port;
      const run = await ingestThroughSentinelFailover(rt, set, 'failover', env.dir, { serial: 'ZFY0401', files: 6, bytes: 4 << 20, timeoutMs: TEST_TIMEOUT_MS - 40_000 });
      expectPromoted(set, run, replicaPort);
      await expectCompleteAndSafe(rt, run.folder, run.sources, run.result);
      // A handover, not a crash: the Sentinels turn the old master into a replica of the new
      // one (after the switch, once they see it still calls itself master).
      const role = await eventually(async () => {
        const r = redisCli(run.formerPort, 'role').split('\n');
        return r[0] === 'slave' ? r : undefined;
      }, 30_000, 'the old master to follow the new one');
      expect(Number(role[2])).toBe(replicaPort);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'SIGKILL of the master mid-ingest: the Sentinels promote the replica, and every file is stored, verified and cleared once',
    async () => {
      const { env, set, rt } = await sentinelSetup('rsentkill');
      const replicaPort = set.servers[1]!.port;
      const run = await ingestThroughSentinelFailover(rt, set, 'kill', env.dir, { serial: 'ZFY0402', files: 6, bytes: 4 << 20, timeoutMs: TEST_TIMEOUT_MS - 40_000 });
      expectPromoted(set, run, replicaPort);
      expect(set.servers[0]!.running).toBe(false);
      await expectCompleteAndSafe(rt, run.folder, run.sources, run.result);
    },
    TEST_TIMEOUT_MS,
  );
});
