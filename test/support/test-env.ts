import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import pg from 'pg';
import { loadConfig, REPO_ROOT } from '../../config/config.loader.ts';
import type { EvidockConfig } from '../../config/config.schema.ts';
import { createRuntime, initLogging, type Runtime } from '../../daemon/runtime.ts';
import type { FileRow } from '../../storage/catalog.repository.ts';

/**
 * An isolated evidock on the shared local stack: its own database, buckets, Redis key
 * prefix, workstation id and data directory, so test files never see each other's
 * evidence or ledger.
 */
export interface TestEnv {
  name: string;
  config: EvidockConfig;
  /** Environment for a child `evidock` process configured like `config`. */
  childEnv: Record<string, string>;
  dir: string;
  runtime(): Promise<Runtime>;
  cleanup(): Promise<void>;
}

type Overrides = Record<string, unknown>;

export async function createTestEnv(label: string, overrides: Overrides = {}): Promise<TestEnv> {
  const name = `${label.replace(/[^a-z0-9]/g, '').slice(0, 12)}${randomBytes(3).toString('hex')}`;
  const dir = resolve(REPO_ROOT, 'var', 'test', name);
  mkdirSync(dir, { recursive: true });
  // The environment may move the stack (EVIDOCK__redis__port etc., set by scripts/run.sh).
  const base = loadConfig();
  const database = `evidock_t_${name}`;
  const admin = new pg.Client({ host: base.postgres.host, port: base.postgres.port, user: base.postgres.user, database: base.postgres.database });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();

  const settings: Overrides = {
    workstationId: `ws-${name}`,
    dataDir: resolve(dir, 'data'),
    logLevel: 'error',
    postgres: { database },
    redis: { prefix: `t-${name}` },
    minio: { originalsBucket: `t-${name}-orig`, ledgerBucket: `t-${name}-ledger`, derivativesBucket: `t-${name}-deriv` },
    retention: { mode: 'COMPLIANCE', days: 1 },
    watch: { usbDetection: false, mountRoots: [resolve(dir, 'media')] },
    ...overrides,
    // Merged, not replaced: a test that sets one ingest knob keeps the fast retries of the rest.
    ingest: { backoffSeconds: 0.2, attempts: 8, spoolMinFreeMiB: 0, spoolRetryDelaySeconds: 1, ...(overrides.ingest as Record<string, unknown> | undefined) },
    // Off unless a test is about it: a cycle would add custody events to every test's ledger.
    fixity: { enabled: false, ...(overrides.fixity as Record<string, unknown> | undefined) },
  };
  const config = loadConfig({ overrides: settings as never });
  initLogging(config, false);
  const runtimes: Runtime[] = [];
  return {
    name,
    config,
    dir,
    childEnv: { EVIDOCK_CONFIG: writeConfigFile(dir, settings) },
    async runtime() {
      const rt = await createRuntime(config);
      runtimes.push(rt);
      return rt;
    },
    async cleanup() {
      for (const rt of runtimes) {
        // Abandon jobs still running (a long transcode): this environment is going away.
        await rt.pool?.close(true).catch(() => undefined);
        await rt.close().catch(() => undefined);
      }
      const again = new pg.Client({ host: base.postgres.host, port: base.postgres.port, user: base.postgres.user, database: base.postgres.database });
      await again.connect();
      try {
        for (let attempt = 1; ; attempt++) {
          try {
            await again.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
            break;
          } catch (error) {
            // FORCE may not end an autovacuum worker (it runs as the superuser, we do not):
            // it finishes within moments, so try again.
            if ((error as { code?: string }).code !== '42501' || attempt >= 20) throw error;
            await new Promise((r) => setTimeout(r, 250));
          }
        }
      } finally {
        await again.end();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function writeConfigFile(dir: string, settings: Overrides): string {
  const file = resolve(dir, 'evidock.config.json');
  writeFileSync(file, JSON.stringify(settings, null, 2), { mode: 0o600 });
  return file;
}

/** Polls until `check` returns a value other than undefined, or throws after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 60_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The files of a docking once each has reached a stage it stays in until the next docking. */
export async function settleSession(rt: Runtime, sessionId: string): Promise<FileRow[]> {
  return eventually(async () => {
    const files = await rt.catalog.filesOfSession(sessionId);
    return files.every((f) => ['cleared', 'kept', 'failed', 'skipped', 'interrupted', 'superseded'].includes(f.stage)) ? files : undefined;
  }, 60_000, 'session to settle');
}

/** Runs the `evidock` command (bin/evidock.js) as a child process with this environment. */
export function evidock(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [resolve(REPO_ROOT, 'bin/evidock.js'), ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) =>
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Running, not gone and not a zombie waiting for a reaper (containers often have none). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
