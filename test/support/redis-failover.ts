import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { importFolder } from '../../daemon/cli.ts';
import type { Runtime } from '../../daemon/runtime.ts';
import type { EvidockConfig } from '../../config/config.schema.ts';
import { prefixOf } from '../../workers/bullmq.job-queue.ts';
import { JobName, QueueName, queueNameOf } from '../../workers/job.types.ts';
import { makeRecorder } from './ingest-checks.ts';
import type { PrivateRedisCluster, PrivateRedisSentinel, PrivateService } from './private-services.ts';

/**
 * A Redis failover in the middle of an ingest: a Redis Cluster master killed (SIGKILL), or a
 * Sentinel failover (SENTINEL FAILOVER, or the master SIGKILLed). What the cluster and
 * Sentinel tests (test/redis-cluster.test.ts, test/redis-sentinel.test.ts) check and the chaos
 * scenarios (`npm run chaos -- --only redis-failover,sentinel-failover`) measure. The fault
 * lands on the server holding the acquire queue while that queue still holds jobs for
 * recordings nobody has started on.
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
  /** The server that held the acquire queue before the fault (killed, or demoted). */
  formerPort: number;
  /** The former replica that holds it after. */
  promotedPort: number;
  /** Fault → a replica serves the queue's keys as master (detection and the election). */
  promotionMs: number;
  /**
   * Fault → the first acquisition completed of a recording that was still waiting in the
   * queue at the fault (its job fetched from the promoted replica, or queued again from
   * PostgreSQL): how long the queue stalled.
   */
  stallMs: number;
  /** Acquire jobs of the waiting recordings that the promoted replica no longer had. */
  vanishedJobs: number;
  waitingAtFault: number;
}

/** One kind of failover: what to do to the server holding the acquire queue, and how to see it replaced. */
interface Failover {
  formerPort: number;
  inject(): void;
  /** The port of the master that now holds the acquire queue, once it is not `formerPort`; undefined until then. */
  promoted(): number | undefined;
}

/**
 * Docks a generated recorder through `importFolder` on `rt`, injects `failover` once a
 * recording is past acquisition and others are still waiting, waits for a replica's
 * promotion, and returns when the import does.
 */
async function ingestThroughFailover(
  rt: Runtime,
  failover: Failover,
  dir: string,
  options: { serial: string; files: number; bytes: number; timeoutMs: number },
): Promise<FailoverRun> {
  const folder = join(dir, `rec-${options.serial}`);
  const sources = makeRecorder(folder, options.serial, options.files, options.bytes);
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
      throw new Error(`the recorder was acquired before the fault could land (stages ${rows.map((f) => f.stage).join(',')}): use more or larger files`);
    }
    if (Date.now() > deadline) throw new Error('ingest never got under way');
    await sleep(20);
  }

  const faultAt = Date.now();
  failover.inject();
  let promotedPort = failover.formerPort;
  let promotionMs = 0;
  let stallMs = -1;
  let vanishedJobs = -1;
  const waitingSet = new Set(waiting);
  while (stallMs < 0 || promotedPort === failover.formerPort) {
    if (Date.now() > deadline) throw new Error(`no failover or no progress after the fault (promoted ${promotedPort !== failover.formerPort}, stall ${stallMs})`);
    if (promotedPort === failover.formerPort) {
      const port = failover.promoted();
      if (port !== undefined && port !== failover.formerPort) {
        promotedPort = port;
        promotionMs = Date.now() - faultAt;
        // What the promoted replica still holds of the jobs that were waiting at the fault.
        const jobPrefix = `${prefixOf(rt.config, QueueName.Acquire)}:${queueNameOf(QueueName.Acquire, rt.config.workstationId)}`;
        vanishedJobs = waiting.filter((id) => redisCli(port, 'exists', `${jobPrefix}:${JobName.Acquire}-${id}`) !== '1').length;
      }
    }
    if (stallMs < 0) {
      const rows = await stages();
      if (rows.some((f) => waitingSet.has(f.id) && !['queued', 'acquiring'].includes(f.stage))) stallMs = Date.now() - faultAt;
    }
    await sleep(50);
  }
  const result = await Promise.race([
    importing,
    sleep(Math.max(1, deadline - Date.now())).then(() => {
      throw new Error('the import did not finish after the failover');
    }),
  ]);
  return { folder, sources, result, formerPort: failover.formerPort, promotedPort, promotionMs, stallMs, vanishedJobs, waitingAtFault: waiting.length };
}

/** SIGKILLs the Redis Cluster master serving the acquire queue's slot mid-ingest (see ingestThroughFailover). */
export async function ingestThroughClusterFailover(
  rt: Runtime,
  cluster: PrivateRedisCluster,
  dir: string,
  options: { serial: string; files: number; bytes: number; timeoutMs: number },
): Promise<FailoverRun> {
  const ports = cluster.nodes.map((n) => n.port);
  const slot = Number(redisCli(ports[0]!, 'cluster', 'keyslot', queueMetaKey(rt.config, QueueName.Acquire)));
  const victimPort = masterOfSlot(clusterNodes(ports[0]!), slot).port;
  const survivor = ports.find((p) => p !== victimPort)!;
  return ingestThroughFailover(
    rt,
    {
      formerPort: victimPort,
      inject: () => cluster.kill(cluster.nodes.find((n) => n.port === victimPort)!),
      promoted: () => {
        try {
          return masterOfSlot(clusterNodes(survivor), slot).port;
        } catch {
          return undefined; // no live master for the slot yet
        }
      },
    },
    dir,
    options,
  );
}

/** The master's port as the Sentinel on `sentinelPort` names it. */
export function sentinelMasterPort(sentinelPort: number, name: string): number {
  return Number(redisCli(sentinelPort, 'sentinel', 'get-master-addr-by-name', name).split('\n')[1]);
}

/** Whether the server on `port` answers and calls itself a master. */
function isMaster(port: number): boolean {
  try {
    return redisCli(port, 'role').split('\n')[0] === 'master';
  } catch {
    return false;
  }
}

/**
 * A Sentinel failover mid-ingest (see ingestThroughFailover): `SENTINEL FAILOVER` asked of
 * one Sentinel (`fault: 'failover'`: the master hands over to its replica and becomes a
 * replica itself), or the master SIGKILLed (`fault: 'kill'`: the Sentinels agree it is down
 * and elect one of them to promote the replica). Promoted: every Sentinel names a new master
 * and that server calls itself master.
 */
export async function ingestThroughSentinelFailover(
  rt: Runtime,
  set: PrivateRedisSentinel,
  fault: 'failover' | 'kill',
  dir: string,
  options: { serial: string; files: number; bytes: number; timeoutMs: number },
): Promise<FailoverRun> {
  const sentinelPorts = set.sentinels.map((s) => s.port);
  const formerPort = sentinelMasterPort(sentinelPorts[0]!, set.name);
  const master: PrivateService = set.servers.find((s) => s.port === formerPort)!;
  return ingestThroughFailover(
    rt,
    {
      formerPort,
      inject: () => {
        if (fault === 'kill') set.kill(master);
        else redisCli(sentinelPorts[0]!, 'sentinel', 'failover', set.name);
      },
      promoted: () => {
        try {
          const named = new Set(sentinelPorts.map((p) => sentinelMasterPort(p, set.name)));
          const [port] = [...named];
          return named.size === 1 && port !== formerPort && isMaster(port!) ? port : undefined;
        } catch {
          return undefined; // a Sentinel busy with the failover did not answer in time
        }
      },
    },
    dir,
    options,
  );
}
