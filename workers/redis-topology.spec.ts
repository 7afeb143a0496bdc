import { Cluster, Redis } from 'ioredis';
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
    // Connecting from the start: BullMQ awaiting a lazy Cluster's first connect() hung after a master kill.
    expect((connection as Cluster).options.lazyConnect).toBe(false);
    (connection as Cluster).disconnect();
  });

  it('ends a Cluster, and its duplicates, disconnected while waiting to reconnect (BullMQ waits for its end when a Worker closes)', async () => {
    // Port 1: nothing listens, so the Cluster fails its first slot refresh and waits to reconnect.
    const config = loadConfig({ env: {}, overrides: { workstationId: 'ws1', redis: { mode: 'cluster', nodes: [{ host: '127.0.0.1', port: 1 }] } } as never });
    const original = connectionOf(config) as Cluster;
    for (const cluster of [original, original.duplicate()]) {
      cluster.on('error', () => undefined);
      await new Promise<void>((resolve) => {
        const poll = () => (cluster.status === 'reconnecting' ? resolve() : setTimeout(poll, 5));
        poll();
      });
      const ended = new Promise<void>((resolve) => cluster.once('end', () => resolve()));
      cluster.disconnect();
      await ended;
      expect(cluster.status).toBe('end');
    }
  });

  it('asks the sentinels for the named master, with their password, and follows a switch as it is announced', () => {
    const config = loadConfig({
      env: {},
      overrides: { redis: { mode: 'sentinel', sentinels: [{ host: '127.0.0.1', port: 26379 }], name: 'evidock-m', password: 'data-secret', sentinelPassword: 'sentinel-secret' } } as never,
    });
    const client = connectionOf(config) as Redis;
    expect(client.options).toMatchObject({
      sentinels: [{ host: '127.0.0.1', port: 26379 }],
      name: 'evidock-m',
      password: 'data-secret',
      sentinelPassword: 'sentinel-secret',
      failoverDetector: true,
      maxRetriesPerRequest: null,
    });
    expect(client.options.tls).toBeUndefined();
    // BullMQ's blocking connections are duplicates: they follow a switch the same way.
    const duplicate = client.duplicate();
    expect(duplicate.options.failoverDetector).toBe(true);
    expect(duplicate.constructor).toBe(client.constructor);
    client.disconnect();
    duplicate.disconnect();
    expect(prefixOf(config, QueueName.Catalog)).toBe('evidock');
  });

  it('uses TLS to the Sentinels and to the master they name when TLS is on', () => {
    const config = loadConfig({
      env: {},
      overrides: { redis: { mode: 'sentinel', sentinels: [{ host: '127.0.0.1', port: 26379 }], tls: { enabled: true, rejectUnauthorized: true } } } as never,
    });
    const client = connectionOf(config) as Redis;
    expect(client.options).toMatchObject({ tls: { rejectUnauthorized: true }, enableTLSForSentinelMode: true, sentinelTLS: { rejectUnauthorized: true } });
    client.disconnect();
  });
});
