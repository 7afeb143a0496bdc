import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { EvidockConfig } from '../config/config.schema.ts';
import { moduleLogger } from '../config/logger.ts';

const log = moduleLogger('postgres');
const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');
// Any constant works; it only has to be the same in every evidock process.
const MIGRATION_LOCK = 0x65766964;

/** The one thing the catalog and ledger need from a connection: run a query. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

export class DatabaseUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatabaseUnavailableError';
  }
}

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE', '57P01', '57P02', '57P03', '08006', '08001', '08003']);

export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof DatabaseUnavailableError) return true;
  // Errors of other adapters (object store, spool) that pass through a transaction or a
  // lock are theirs, even when their message mentions ECONNREFUSED.
  // (pg's server errors are named 'error', socket and pool errors 'Error'.)
  if (error instanceof Error && error.name !== 'Error' && error.name !== 'error') return false;
  const code = (error as { code?: string } | null)?.code;
  if (code && UNAVAILABLE_CODES.has(code)) return true;
  const message = (error as Error | null)?.message ?? '';
  return /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect|not queryable|shutting down/i.test(message);
}

/** Waiters in order; `acquire` resolves when one of `size` slots is free. */
class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];
  constructor(size: number) {
    this.free = size;
  }
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free -= 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free += 1;
  }
}

export class Database implements Queryable {
  private readonly pool: pg.Pool;
  /**
   * A session lock holds its connection while its work takes others from the same pool. Were
   * every connection held by a lock whose work waits for one more, nothing would move until
   * the pool's timeout failed them all (the province simulation met this with 25 workstations
   * on 12 connections). So at most half the pool holds session locks; the rest serves work.
   * Session locks therefore must not nest: a nested one could wait for a slot its holder has.
   */
  private readonly lockSlots: Slots;

  constructor(config: EvidockConfig['postgres'], databaseOverride?: string) {
    this.pool = new pg.Pool({
      host: config.host,
      port: config.port,
      database: databaseOverride ?? config.database,
      user: config.user,
      password: config.password,
      max: config.maxConnections,
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 10000,
      ssl: config.tls.enabled
        ? { rejectUnauthorized: config.tls.rejectUnauthorized, ...(config.tls.caFile ? { ca: readFileSync(config.tls.caFile, 'utf8') } : {}) }
        : undefined,
    });
    this.lockSlots = new Slots(Math.max(1, Math.floor(config.maxConnections / 2)));
    // An idle client losing its server must not crash the process; the next query reports it.
    this.pool.on('error', (error) => log.warn({ err: error.message }, 'postgres connection lost'));
  }

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(text, values);
    } catch (error) {
      throw wrap(error);
    }
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw wrap(error);
    }
    const lost = watchCheckedOut(client);
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw wrap(error);
    } finally {
      lost.stop();
      client.release(lost.error);
    }
  }

  /**
   * Runs `work` holding a session-level advisory lock on `key`, so two workers on any
   * hosts never do the same thing at once (e.g. upload the same bytes twice).
   */
  async withLock<T>(key: string, work: () => Promise<T>): Promise<T> {
    const held = await this.holding(key, false, work);
    return (held as { result: T }).result;
  }

  /**
   * Like withLock, but does not wait: when another session holds `key`, returns
   * `{ locked: false }` at once without running `work`.
   */
  tryWithLock<T>(key: string, work: () => Promise<T>): Promise<{ locked: true; result: T } | { locked: false }> {
    return this.holding(key, true, work);
  }

  private async holding<T>(key: string, tryOnly: boolean, work: () => Promise<T>): Promise<{ locked: true; result: T } | { locked: false }> {
    await this.lockSlots.acquire();
    try {
      return await this.holdingSlot(key, tryOnly, work);
    } finally {
      this.lockSlots.release();
    }
  }

  private async holdingSlot<T>(key: string, tryOnly: boolean, work: () => Promise<T>): Promise<{ locked: true; result: T } | { locked: false }> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw wrap(error);
    }
    const lost = watchCheckedOut(client);
    try {
      if (tryOnly) {
        const got = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok', [key]);
        if (!got.rows[0]?.ok) return { locked: false };
      } else {
        await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [key]);
      }
      let result: T;
      try {
        result = await work();
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]).catch(() => undefined);
      }
      // The server released the lock when the connection died: whatever `work` did, it did
      // without exclusion. Report it so the (idempotent) job runs again.
      if (lost.error) throw new DatabaseUnavailableError(`PostgreSQL connection holding lock ${key} was lost: ${lost.error.message}`, { cause: lost.error });
      return { locked: true, result };
    } catch (error) {
      throw wrap(error);
    } finally {
      lost.stop();
      client.release(lost.error);
    }
  }

  /** Applies the migrations not yet applied; `through` stops after that one (a test of a later migration). */
  async migrate(options: { through?: string } = {}): Promise<string[]> {
    const applied: string[] = [];
    await this.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await tx.query('CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
      const done = new Set((await tx.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((r) => r.name));
      for (const name of readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).sort()) {
        if (options.through && name > options.through) break;
        if (done.has(name)) continue;
        await tx.query(readFileSync(join(MIGRATIONS_DIR, name), 'utf8'));
        await tx.query('INSERT INTO schema_migrations (name) VALUES ($1)', [name]);
        applied.push(name);
      }
    });
    if (applied.length > 0) log.info({ applied }, 'database migrated');
    return applied;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * A checked-out client has no pool listener: without one, the server going away while it is
 * checked out is an uncaught 'error' event that kills the process.
 */
function watchCheckedOut(client: pg.PoolClient): { readonly error: Error | undefined; stop(): void } {
  let error: Error | undefined;
  const onError = (e: Error) => {
    error ??= e;
    log.warn({ err: e.message }, 'postgres connection lost while checked out');
  };
  client.on('error', onError);
  return {
    get error() {
      return error;
    },
    stop: () => client.removeListener('error', onError),
  };
}

function wrap(error: unknown): unknown {
  if (error instanceof DatabaseUnavailableError) return error;
  if (isDatabaseUnavailable(error)) {
    return new DatabaseUnavailableError(`PostgreSQL unavailable: ${(error as Error).message}`, { cause: error });
  }
  return error;
}
