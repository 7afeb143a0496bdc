import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFolder } from '../daemon/cli.ts';
import { createRuntime, type Runtime } from '../daemon/runtime.ts';
import {
  freePort,
  makeTlsMaterial,
  privateMinioConfig,
  privatePostgresConfig,
  privateRedisConfig,
  startPrivateMinio,
  startPrivatePostgres,
  startPrivateRedis,
  stopAllPrivateServices,
  type TlsMaterial,
} from './support/private-services.ts';
import { createTestEnv, type TestEnv } from './support/test-env.ts';

/**
 * The connections to Redis, PostgreSQL and MinIO as a bureau runs them across its network:
 * TLS, with the bureau's own CA. Private servers with a throwaway CA; PostgreSQL refuses
 * role evidock without TLS, so a docking that succeeds proves the catalog went over TLS.
 */
describe('TLS to Redis, PostgreSQL and MinIO', () => {
  let env: TestEnv;
  let rt: Runtime;
  let tls: TlsMaterial;
  let ports: { redis: number; redisTls: number; pg: number; minio: number };
  let caDir: string;

  beforeAll(async () => {
    ports = { redis: await freePort(), redisTls: await freePort(), pg: await freePort(), minio: await freePort() };
    caDir = mkdtempSync(join(tmpdir(), 'evidock-tls-'));
    tls = makeTlsMaterial(caDir);
    env = await createTestEnv('tls', {
      redis: { ...privateRedisConfig(ports.redisTls), tls: { enabled: true, caFile: tls.caFile } },
      postgres: { ...privatePostgresConfig(ports.pg), tls: { enabled: true, caFile: tls.caFile } },
      minio: { ...privateMinioConfig(ports.minio), useSSL: true, caFile: tls.caFile },
    });
    await startPrivateRedis(env.dir, { port: ports.redis, tls: { ...tls, tlsPort: ports.redisTls } });
    await startPrivatePostgres(env.dir, { port: ports.pg, tls });
    await startPrivateMinio(env.dir, { port: ports.minio, tls });
    rt = await env.runtime();
  }, 180_000);

  afterAll(async () => {
    await env?.cleanup();
    await stopAllPrivateServices();
    if (caDir) rmSync(caDir, { recursive: true, force: true });
  }, 120_000);

  it('docks, stores, verifies and clears a recording with every connection over TLS', async () => {
    const dir = join(env.dir, 'recorder');
    const media = join(dir, 'DCIM', '100MEDIA');
    mkdirSync(media, { recursive: true });
    const bytes = randomBytes(300_000);
    const path = join(media, 'ZFYT01_004512_20261121090000_0001.MP4');
    writeFileSync(path, bytes);
    utimesSync(path, new Date('2026-11-21T01:05:00Z'), new Date('2026-11-21T01:05:00Z'));

    const { files } = await importFolder(rt, dir, { serial: 'ZFYT01', json: true });
    expect(files.map((f) => f.stage)).toEqual(['cleared']);
    expect(files[0]!.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(existsSync(path)).toBe(false);
    const report = await rt.verify.run({ rehash: true });
    expect(report.ledger.problems).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('is refused by PostgreSQL without TLS, so the success above went over TLS', async () => {
    const plain = new pg.Client({ host: '127.0.0.1', port: ports.pg, user: 'evidock', database: 'evidock' });
    plain.on('error', () => undefined);
    await expect(plain.connect()).rejects.toThrow(/no encryption|pg_hba|rejects/i);
    await plain.end().catch(() => undefined);
  });

  it('does not trust a server certificate from an unknown CA', async () => {
    const other = makeTlsMaterial(join(env.dir, 'other-ca'));
    const config = { ...env.config, minio: { ...env.config.minio, caFile: other.caFile } };
    const failure = await createRuntime(config).then(() => null, (error: Error) => error);
    expect(failure?.message).toMatch(/certificate|self.signed|unable to verify/i);
  });
});
