import { Cluster } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.loader.ts';
import { connectionOf, prefixOf } from './bullmq.job-queue.ts';
import { QueueName } from './job.types.ts';

const cluster = { mode: 'cluster', nodes: [{ host: '127.0.0.1', port: 7001 }] };

describe('Redis topology', () => {
  it('keeps the plain prefix and host/port on a single Redis (the default)', () => {
    const config = loadConfig({ env: {}, overrides: { workstationId: 'ws1' } as never });
    expect(config.redis.mode).toBe('single');
    expect(prefixOf(config, QueueName.Store)).toBe('evidock');
    expect(connectionOf(config)).toMatchObject({ host: '127.0.0.1', port: 6390, maxRetriesPerRequest: null });
  });

  it('gives each queue its own hash tag on a cluster, device queues with the workstation', () => {
    const config = loadConfig({ env: {}, overrides: { workstationId: 'ws1', redis: cluster } as never });
    expect(Object.values(QueueName).map((q) => prefixOf(config, q))).toEqual([
      '{evidock:acquire.ws1}',
      '{evidock:store.ws1}',
      '{evidock:clear.ws1}',
      '{evidock:catalog}',
      '{evidock:metadata}',
      '{evidock:transcode}',
      '{evidock:webhook}',
      '{evidock:fixity}',
    ]);
    const connection = connectionOf(config);
    expect(connection).toBeInstanceOf(Cluster);
    (connection as Cluster).disconnect();
  });

  it('asks the sentinels for the named master', () => {
    const config = loadConfig({ env: {}, overrides: { redis: { mode: 'sentinel', sentinels: [{ host: '127.0.0.1', port: 26379 }], name: 'evidock-m' } } as never });
    expect(connectionOf(config)).toMatchObject({ sentinels: [{ host: '127.0.0.1', port: 26379 }], name: 'evidock-m', maxRetriesPerRequest: null });
    expect(prefixOf(config, QueueName.Catalog)).toBe('evidock');
  });
});
