import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { importFolder } from '../../daemon/cli.ts';
import type { Runtime } from '../../daemon/runtime.ts';
import type { EvidockConfig } from '../../config/config.schema.ts';
import { prefixOf } from '../../workers/bullmq.job-queue.ts';
import { JobName, QueueName, queueNameOf } from '../../workers/job.types.ts';
import { makeRecorder } from './ingest-checks.ts';
import type { PrivateRedisCluster } from './private-services.ts';

/**
 * A Redis Cluster master killed (SIGKILL) in the middle of an ingest: what the cluster test
 * (test/redis-cluster.test.ts) checks and the chaos scenario (`npm run chaos -- --only
 * redis-failover`) measures. The master killed is the one serving the acquire queue's slot
 * while that queue still holds jobs for recordings nobody has started on.
 */

export interface ClusterNode {
  id: string;
  port: number;
  master: boolean;
  failed: boolean;
  slots: Array<[number, number]>;
}

export function redisCli(port: number, ...args: string[]): string {
  const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`redis-cli ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** CLUSTER NODES as seen from a live node. */
export function clusterNodes(port: number): ClusterNode[] {
  return redisCli(port, 'cluster', 'nodes')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, address, flags, , , , , , ...slots] = line.split(' ');
      return {
        id: id!,
        port: Number(address!.split('@')[0]!.split(':')[1]),
        master: flags!.includes('master'),
        failed: flags!.includes('fail'),
        slots: slots.filter((s) => !s.startsWith('[')).map((s) => (s.includes('-') ? (s.split('-').map(Number) as [number, number]) : [Number(s), Number(s)])),
      };
    });
}

export function masterOfSlot(nodes: ClusterNode[], slot: number): ClusterNode {
  const owner = nodes.find((n) => n.master && !n.failed && n.slots.some(([a, b]) => slot >= a && slot <= b));
  if (!owner) throw new Error(`no live master serves slot ${slot}`);
  return owner;
}

/** The meta key of a queue (its hash tag decides the slot of all its keys). */
export function queueMetaKey(config: EvidockConfig, queue: QueueName): string {
  return `${prefixOf(config, queue)}:${queueNameOf(queue, config.workstationId)}:meta`;
}

/** Queue → its meta key, slot and master in this cluster. */
export function keyLayout(config: EvidockConfig, port: number): Array<{ queue: QueueName; key: string; slot: number; master: number }> {
  const nodes = clusterNodes(port);
  return Object.values(QueueName).map((queue) => {
    const key = queueMetaKey(config, queue);
    const slot = Number(redisCli(port, 'cluster', 'keyslot', key));
    return { queue, key, slot, master: masterOfSlot(nodes, slot).port };
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface FailoverRun {
  folder: string;
  sources: Map<string, Buffer>;
  result: Awaited<ReturnType<typeof importFolder>>;
  killedPort: number;
  promotedPort: number;
  /** Kill → a replica serves the slot again (cluster-node-timeout and the election). */
  promotionMs: number;
  /**
   * Kill → the first acquisition completed of a recording that was still waiting in the
   * queue at the kill (its job fetched from the promoted replica, or queued again from
   * PostgreSQL): how long the killed queue stalled.
   */
  stallMs: number;
  /** Acquire jobs of the waiting recordings that the promoted replica no longer had. */
  vanishedJobs: number;
  waitingAtKill: number;
}

/**
 * Docks a generated recorder through `importFolder` on a runtime whose Redis is `cluster`,
 * SIGKILLs the acquire queue's master once a recording is past acquisition and others are
 * still waiting, waits for its replica's promotion, and returns when the import does.
 */
export async function ingestThroughClusterFailover(
  rt: Runtime,
  cluster: PrivateRedisCluster,
  dir: string,
  options: { serial: string; files: number; bytes: number; timeoutMs: number },
): Promise<FailoverRun> {
  const ports = cluster.nodes.map((n) => n.port);
  const folder = join(dir, `rec-${options.serial}`);
  const sources = makeRecorder(folder, options.serial, options.files, options.bytes);
  const slot = Number(redisCli(ports[0]!, 'cluster', 'keyslot', queueMetaKey(rt.config, QueueName.Acquire)));
  const victimPort = masterOfSlot(clusterNodes(ports[0]!), slot).port;
  const victim = cluster.nodes.find((n) => n.port === victimPort)!;
  const survivor = ports.find((p) => p !== victimPort)!;

  const importing = importFolder(rt, folder, { serial: options.serial, case: ['YB2026-301'], json: true });
  importing.catch(() => undefined);

  const stages = async () => (await rt.db.query<{ id: string; stage: string }>('SELECT id, stage FROM session_files WHERE recorder_serial = $1', [options.serial])).rows;
  const deadline = Date.now() + options.timeoutMs;
  let waiting: string[] = [];
  for (;;) {
    const rows = await stages();
    waiting = rows.filter((f) => f.stage === 'queued').map((f) => f.id);
    if (rows.length === options.files && rows.some((f) => !['queued', 'acquiring'].includes(f.stage)) && waiting.length >= 2) break;
    if (rows.length === options.files && waiting.length < 2 && rows.some((f) => !['queued', 'acquiring'].includes(f.stage))) {
      throw new Error(`the recorder was acquired before the kill could land (stages ${rows.map((f) => f.stage).join(',')}): use more or larger files`);
    }
    if (Date.now() > deadline) throw new Error('ingest never got under way');
    await sleep(20);
  }

  const killedAt = Date.now();
  cluster.kill(victim);
  let promotedPort = victimPort;
  let promotionMs = 0;
  let stallMs = -1;
  let vanishedJobs = -1;
  const waitingSet = new Set(waiting);
  while (stallMs < 0 || promotedPort === victimPort) {
    if (Date.now() > deadline) throw new Error(`no failover or no progress after the kill (promoted ${promotedPort !== victimPort}, stall ${stallMs})`);
    if (promotedPort === victimPort) {
      try {
        const owner = masterOfSlot(clusterNodes(survivor), slot);
        if (owner.port !== victimPort) {
          promotedPort = owner.port;
          promotionMs = Date.now() - killedAt;
          // What the promoted replica still holds of the jobs that were waiting at the kill.
          let missing = 0;
          const jobPrefix = `${prefixOf(rt.config, QueueName.Acquire)}:${queueNameOf(QueueName.Acquire, rt.config.workstationId)}`;
          for (const id of waiting) {
            if (redisCli(promotedPort, 'exists', `${jobPrefix}:${JobName.Acquire}-${id}`) !== '1') missing++;
          }
          vanishedJobs = missing;
        }
      } catch {
        // no live master for the slot yet
      }
    }
    if (stallMs < 0) {
      const rows = await stages();
      if (rows.some((f) => waitingSet.has(f.id) && !['queued', 'acquiring'].includes(f.stage))) stallMs = Date.now() - killedAt;
    }
    await sleep(50);
  }
  const result = await Promise.race([
    importing,
    sleep(Math.max(1, deadline - Date.now())).then(() => {
      throw new Error('the import did not finish after the failover');
    }),
  ]);
  return { folder, sources, result, killedPort: victimPort, promotedPort, promotionMs, stallMs, vanishedJobs, waitingAtKill: waiting.length };
}
