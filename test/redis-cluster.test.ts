import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFolder } from '../daemon/cli.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { prefixOf } from '../workers/bullmq.job-queue.ts';
import { QueueName, queueNameOf } from '../workers/job.types.ts';
import { freePort, startPrivateRedisCluster, stopAllPrivateServices, type PrivateRedisCluster } from './support/private-services.ts';
import { createTestEnv, type TestEnv } from './support/test-env.ts';
import { expectCompleteAndSafe, makeRecorder } from './support/ingest-checks.ts';
import { clusterNodes, ingestThroughClusterFailover, keyLayout, redisCli as cli } from './support/redis-failover.ts';

/**
 * BullMQ on a real Redis Cluster (3 masters, a replica each, started by the test on free
 * loopback ports): each queue has a hash tag of its own, so the queues spread over the
 * masters, and a recorder is ingested through them, also while the master holding the
 * acquire queue is SIGKILLed and its replica takes over.
 */

const HOOK_TIMEOUT_MS = 120_000;
const TEST_TIMEOUT_MS = 180_000;
const INGEST = { backoffSeconds: 0.2, attempts: 12, spoolMinFreeMiB: 0, spoolRetryDelaySeconds: 1 };

describe('BullMQ on a Redis Cluster of 3 masters with a replica each', () => {
  let cluster: PrivateRedisCluster | undefined;
  let ports: number[] = [];
  const envs: TestEnv[] = [];
  const runtimes: Runtime[] = [];

  const clusterEnv = async (label: string) => {
    const env = await createTestEnv(label, {
      redis: { mode: 'cluster', nodes: ports.map((port) => ({ host: '127.0.0.1', port })), prefix: `t-${label}`, password: undefined, db: 0, tls: { enabled: false } },
      ingest: INGEST,
    });
    envs.push(env);
    return env;
  };

  beforeAll(async () => {
    ports = [];
    for (let i = 0; i < 6; i++) ports.push(await freePort());
    const first = await clusterEnv('rcluster');
    cluster = await startPrivateRedisCluster(first.dir, ports, 1);
  }, HOOK_TIMEOUT_MS);

  afterAll(async () => {
    for (const rt of runtimes) await Promise.race([rt.close().catch(() => undefined), new Promise((r) => setTimeout(r, 20_000))]);
    await stopAllPrivateServices();
    for (const env of envs) await env.cleanup();
  }, HOOK_TIMEOUT_MS);

  it(
    'spreads the queues over the masters and ingests a recorder: every file stored, verified and cleared once',
    async () => {
      const env = envs[0]!;
      const rt = await env.runtime();
      runtimes.push(rt);
      const folder = join(env.dir, 'rec');
      const sources = makeRecorder(folder, 'ZFY0201', 3, 2 << 20);
      const result = await importFolder(rt, folder, { serial: 'ZFY0201', case: ['YB2026-201'], subject: '某药房', place: '某市某区', json: true });
      await expectCompleteAndSafe(rt, folder, sources, result);

      const layout = keyLayout(env.config, ports[0]!);
      // eslint-disable-next-line no-console
      console.log(`key layout:\n${layout.map((l) => `${l.key}  slot ${l.slot}  master 127.0.0.1:${l.master}`).join('\n')}`);
      expect(new Set(layout.map((l) => l.slot)).size).toBe(layout.length);
      expect(new Set(layout.map((l) => l.master)).size).toBeGreaterThanOrEqual(2);
      // The keys really are where the slot map says: the ingest queues' keys exist on their own master.
      for (const queue of [QueueName.Acquire, QueueName.Store, QueueName.Catalog, QueueName.Clear]) {
        const l = layout.find((x) => x.queue === queue)!;
        const id = `${prefixOf(env.config, queue)}:${queueNameOf(queue, env.config.workstationId)}:id`;
        expect(cli(l.master, 'exists', id), `${id} on 127.0.0.1:${l.master}`).toBe('1');
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'survives a SIGKILL of the master serving the acquire queue mid-ingest: its replica takes over, nothing lost or duplicated, nothing cleared unverified',
    async () => {
      const env = await clusterEnv('rfailover');
      const rt = await env.runtime();
      runtimes.push(rt);
      const run = await ingestThroughClusterFailover(rt, cluster!, env.dir, { serial: 'ZFY0301', files: 6, bytes: 4 << 20, timeoutMs: TEST_TIMEOUT_MS - 30_000 });
      // eslint-disable-next-line no-console
      console.log(
        `killed master 127.0.0.1:${run.formerPort}; replica 127.0.0.1:${run.promotedPort} promoted after ${run.promotionMs} ms; ` +
          `${run.vanishedJobs} of ${run.waitingAtFault} waiting acquire jobs gone from it; stall (kill → next acquisition of a waiting recording) ${run.stallMs} ms`,
      );
      // A real failover happened: the killed node is marked failed and a former replica serves its slots.
      expect(run.promotedPort).not.toBe(run.formerPort);
      const nodes = clusterNodes(run.promotedPort);
      expect(nodes.find((n) => n.port === run.formerPort)?.failed).toBe(true);
      expect(nodes.find((n) => n.port === run.promotedPort)?.master).toBe(true);
      await expectCompleteAndSafe(rt, run.folder, run.sources, run.result);
    },
    TEST_TIMEOUT_MS,
  );
});
