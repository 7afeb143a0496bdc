import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, secretsOf } from './config.loader.ts';
import { configSchema } from './config.schema.ts';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('refuses a cluster without nodes, a braced prefix or a database other than 0, sentinel mode without sentinels, and a Sentinel password outside sentinel mode', () => {
    expect(problemsOf(() => loadConfig({ env: {}, overrides: { redis: { mode: 'cluster' } } as never }))).toEqual([expect.stringMatching(/^redis\.nodes: cluster mode needs/)]);
    expect(problemsOf(() => loadConfig({ env: {}, overrides: { redis: { mode: 'cluster', nodes: [{ host: '127.0.0.1', port: 7001 }], prefix: '{evidock}', db: 2 } } as never })).sort()).toEqual([
      expect.stringMatching(/^redis\.db:/),
      expect.stringMatching(/^redis\.prefix: in cluster mode/),
    ]);
    expect(problemsOf(() => loadConfig({ env: {}, overrides: { redis: { mode: 'sentinel' } } as never }))).toEqual([expect.stringMatching(/^redis\.sentinels:/)]);
    expect(problemsOf(() => loadConfig({ env: {}, overrides: { redis: { sentinelPassword: 'sentinel-secret' } } as never }))).toEqual([expect.stringMatching(/^redis\.sentinelPassword: only sentinel mode/)]);
  });

  it('gives safe defaults: clear after verify, 24-hour deadline, COMPLIANCE retention, zh-CN', () => {
    const config = loadConfig({ env: {} });
    expect(config.ingest.clearAfterVerified).toBe(true);
    expect(config.ingest.deadline).toEqual({ kind: 'hours', hours: 24 });
    expect(config.retention.mode).toBe('COMPLIANCE');
    expect(config.locale).toBe('zh-CN');
    expect(config.redis.port).toBe(6390);
  });

  it('lists every problem at once, including misspelt keys', () => {
    const problems = problemsOf(() =>
      loadConfig({
        env: {},
        overrides: { ingest: { clearAfterVerifed: false, maxConcurrentAcquisitions: 0 }, redis: { port: 70000 }, locale: 'fr' },
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ingest: Unrecognized key.*clearAfterVerifed/),
        expect.stringMatching(/^ingest\.maxConcurrentAcquisitions:/),
        expect.stringMatching(/^redis\.port:/),
        expect.stringMatching(/^locale:/),
      ]),
    );
    expect(problems).toHaveLength(4);
  });

  it('takes the bureau name for reports, trimmed, and nothing blank or unknown beside it', () => {
    const config = loadConfig({ env: {}, overrides: { reports: { bureauName: ' 某市医疗保障局 ' } } as never });
    expect(config.reports).toEqual({ bureauName: '某市医疗保障局', fontFile: '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc', fontFace: 'NotoSansCJKsc-Regular' });
    expect(loadConfig({ env: {} }).reports.bureauName).toBeUndefined();
    const problems = problemsOf(() => loadConfig({ env: {}, overrides: { reports: { bureauName: '  ', font: 'x' } } as never }));
    expect(problems).toEqual([expect.stringMatching(/^reports\.bureauName: String must contain at least 1/), expect.stringMatching(/^reports: Unrecognized key.*'font'/)]);
  });

  it('takes single settings from EVIDOCK__ variables, parsed as JSON when they parse', () => {
    const config = loadConfig({
      env: { EVIDOCK__minio__port: '9000', EVIDOCK__ingest__hashes: '["sha256","sm3"]', EVIDOCK__workstationId: 'ws-01', IGNORED: 'x' },
    });
    expect(config.minio.port).toBe(9000);
    expect(config.ingest.hashes).toEqual(['sha256', 'sm3']);
    expect(config.workstationId).toBe('ws-01');
  });

  it('refuses a config file with credentials that every local user can read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'evidock-config-'));
    const file = join(dir, 'evidock.config.json');
    writeFileSync(file, JSON.stringify({ minio: { secretKey: 'a-real-secret-value' } }));
    chmodSync(file, 0o644);
    expect(problemsOf(() => loadConfig({ env: {}, file }))).toEqual([expect.stringMatching(/world-readable/)]);
    chmodSync(file, 0o600);
    expect(loadConfig({ env: {}, file }).minio.secretKey).toBe('a-real-secret-value');
  });

  it('reports unreadable and malformed files as problems, not crashes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'evidock-config-'));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ not json');
    expect(problemsOf(() => loadConfig({ env: {}, file: bad }))[0]).toMatch(/not valid JSON/);
    expect(problemsOf(() => loadConfig({ env: {}, file: join(dir, 'missing.json') }))[0]).toMatch(/cannot read/);
  });

  it('requires sha256 among the hashes, since object keys derive from it', () => {
    expect(problemsOf(() => loadConfig({ env: {}, overrides: { ingest: { hashes: ['sm3'] } } }))).toEqual([expect.stringMatching(/sha256 is required/)]);
  });

  it('validates a working-days deadline with holidays', () => {
    const config = loadConfig({ env: {}, overrides: { ingest: { deadline: { kind: 'workingDays', days: 2, holidays: ['2026-10-01'] } } } });
    expect(config.ingest.deadline).toMatchObject({ kind: 'workingDays', days: 2, timeZone: 'Asia/Shanghai' });
    expect(problemsOf(() => loadConfig({ env: {}, overrides: { ingest: { deadline: { kind: 'workingDays', days: 2, holidays: ['1 Oct'] } } } }))).toHaveLength(1);
  });

  it('knows which values are secrets', () => {
    const config = loadConfig({ env: {}, overrides: { redis: { password: 'redis-pass' } } });
    expect(secretsOf(config)).toEqual(expect.arrayContaining(['redis-pass', config.minio.secretKey]));
  });
});

describe('configSchema', () => {
  it('describes every leaf setting', () => {
    const undocumented: string[] = [];
    const walk = (schema: unknown, path: string) => {
      let s = schema as { _def: Record<string, unknown>; description?: string };
      let described = Boolean(s.description);
      while (['ZodDefault', 'ZodOptional', 'ZodEffects'].includes(s._def.typeName as string)) {
        s = (s._def.innerType ?? s._def.schema) as typeof s;
        described ||= Boolean(s.description);
      }
      if (s._def.typeName === 'ZodObject') {
        for (const [k, v] of Object.entries((s as unknown as { shape: Record<string, unknown> }).shape)) walk(v, path ? `${path}.${k}` : k);
      } else if (!described) undocumented.push(path);
    };
    walk(configSchema, '');
    expect(undocumented).toEqual([]);
  });
});
