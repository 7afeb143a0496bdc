import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFolder } from '../daemon/cli.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { MinioObjectStore } from '../storage/minio.object-store.ts';
import { Database } from '../storage/postgres.database.ts';
import {
  freePort,
  makeTestCertificates,
  privateMinioConfig,
  privatePostgresConfig,
  privateRedisConfig,
  startPrivateMinio,
  startPrivatePostgres,
  startPrivateRedis,
  stopAllPrivateServices,
} from './support/private-services.ts';
import { createTestEnv, type TestEnv } from './support/test-env.ts';

/**
 * The TLS options of the three server connections, against private Redis, PostgreSQL and
 * MinIO that serve TLS only (Redis without a plain port, PostgreSQL with hostssl only, MinIO
 * on https), with certificates from a throw-away CA.
 */
describe('TLS to Redis, PostgreSQL and MinIO', () => {
  let env: TestEnv | undefined;
  let rt: Runtime | undefined;
  let caFile = '';
  const scratch = join(process.cwd(), 'var', 'test', `tls-certs-${process.pid}`);

  beforeAll(async () => {
    const [redisPort, pgPort, minioPort] = [await freePort(), await freePort(), await freePort()];
    const certs = makeTestCertificates(scratch);
    caFile = certs.caFile;
    env = await createTestEnv('tls', {
      redis: { ...privateRedisConfig(redisPort), tls: { enabled: true, caFile } },
      postgres: { ...privatePostgresConfig(pgPort), tls: { enabled: true, caFile } },
      minio: { ...privateMinioConfig(minioPort), useSSL: true, caFile },
    });
    await Promise.all([
      startPrivateRedis(env.dir, { port: redisPort, tls: certs }),
      startPrivatePostgres(env.dir, { port: pgPort, tls: certs }),
      startPrivateMinio(env.dir, { port: minioPort, tls: certs }),
    ]);
    rt = await env.runtime();
  }, 120_000);
  afterAll(async () => {
    await rt?.close().catch(() => undefined);
    await stopAllPrivateServices();
    await env?.cleanup().catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  }, 60_000);

  it('ingests a recorder with every connection over TLS, the server certificates checked against the configured CA', async () => {
    const dir = join(env!.dir, 'rec');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'ZFYTLS1_004512_20261121100000_0001.MP4'), Buffer.alloc(100_000, 3));
    const { files } = await importFolder(rt!, dir, { serial: 'ZFYTLS1', json: true });
    expect(files.map((f) => f.stage)).toEqual(['cleared']);
    const ssl = await rt!.db.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    expect(ssl.rows[0]!.ssl).toBe(true);
    expect((await rt!.verify.run({ rehash: true })).ok).toBe(true);
  }, 120_000);

  it('refuses a server whose certificate does not verify (no CA configured)', async () => {
    const config = env!.config;
    const db = new Database({ ...config.postgres, tls: { ...config.postgres.tls, caFile: undefined } });
    await expect(db.migrate()).rejects.toThrow(/certificate/);
    await db.close().catch(() => undefined);
    const objects = new MinioObjectStore({ ...config.minio, caFile: undefined }, config.retention);
    await expect(objects.ensureBuckets()).rejects.toThrow(/certificate|unavailable|ensureBuckets/);
  }, 60_000);
});
