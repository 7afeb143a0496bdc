import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, evidock, type TestEnv } from './support/test-env.ts';

/** A loopback port nothing listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe('a server that is down: one clear line and exit code 69', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv('cliunavail');
  });
  afterAll(async () => env?.cleanup());

  it('names Redis when the queues cannot be reached, instead of waiting forever', async () => {
    const result = await evidock(['jobs'], { ...env.childEnv, EVIDOCK__redis__port: String(await deadPort()) });
    expect(result.code).toBe(69);
    expect(result.stderr).toContain('Redis 无法连接');
    expect(result.stdout).toBe('');
  });

  it('names PostgreSQL, in English when asked', async () => {
    const result = await evidock(['--lang', 'en', 'search', '--case', 'YB-1'], { ...env.childEnv, EVIDOCK__postgres__port: String(await deadPort()) });
    expect(result.code).toBe(69);
    expect(result.stderr).toContain('PostgreSQL is unreachable');
  });

  it('names MinIO', async () => {
    const result = await evidock(['search', '--case', 'YB-1'], { ...env.childEnv, EVIDOCK__minio__port: String(await deadPort()) });
    expect(result.code).toBe(69);
    expect(result.stderr).toContain('MinIO 无法连接');
  });

  it('lists every configuration problem at once and exits 78', async () => {
    const result = await evidock(['search'], { ...env.childEnv, EVIDOCK__ingest__maxConcurrentAcquisitions: '0', EVIDOCK__ingest__bogus: '1' });
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('配置无效');
    expect(result.stderr).toContain('ingest.maxConcurrentAcquisitions');
    expect(result.stderr).toContain("'bogus'");
  });
});
