import type { JsonValue } from './custody-chain.ts';
import type { Database, Queryable } from './postgres.database.ts';

/** Serialises starting and finishing cycles across hosts (only that; batches use row locks). */
const FIXITY_CYCLE_LOCK = 0x66697869;

export interface FixityCycleRow {
  id: number;
  startedAt: Date;
  dueAt: Date;
  totalItems: number;
  totalBytes: number;
  finishedAt: Date | null;
  ledgerOk: boolean | null;
  ledgerEvents: number | null;
  ledgerProblems: JsonValue[] | null;
}

export interface FixityProgress {
  checkedItems: number;
  checkedBytes: number;
  failedItems: number;
  /** Items of the cycle not yet checked, claimed by a worker or not. */
  remainingItems: number;
}

/** A claimed item of a batch. */
export interface FixityClaim {
  evidenceId: string;
  size: number;
}

export interface FixityResult {
  evidenceId: string;
  ok: boolean;
  sha256: string | null;
  problems: string[];
}

export interface FixityItemRow {
  evidenceId: string;
  lastCycle: number;
  checkedAt: Date | null;
  ok: boolean | null;
  sha256: string | null;
  problems: string[];
  batchSeq: number | null;
}

const toCycle = (r: Record<string, unknown>): FixityCycleRow => ({
  id: Number(r.id),
  startedAt: r.started_at as Date,
  dueAt: r.due_at as Date,
  totalItems: Number(r.total_items),
  totalBytes: Number(r.total_bytes),
  finishedAt: (r.finished_at as Date | null) ?? null,
  ledgerOk: (r.ledger_ok as boolean | null) ?? null,
  ledgerEvents: r.ledger_events === null || r.ledger_events === undefined ? null : Number(r.ledger_events),
  ledgerProblems: (r.ledger_problems as JsonValue[] | null) ?? null,
});

const toItem = (r: Record<string, unknown>): FixityItemRow => ({
  evidenceId: r.evidence_id as string,
  lastCycle: Number(r.last_cycle),
  checkedAt: (r.checked_at as Date | null) ?? null,
  ok: (r.ok as boolean | null) ?? null,
  sha256: (r.sha256 as string | null) ?? null,
  problems: (r.problems as string[]) ?? [],
  batchSeq: r.batch_seq === null || r.batch_seq === undefined ? null : Number(r.batch_seq),
});

/** The fixity cycles and each item's last scheduled check (storage/migrations/006-fixity.sql). */
export class FixityRepository {
  constructor(private readonly db: Database) {}

  async openCycle(q: Queryable = this.db): Promise<FixityCycleRow | null> {
    const r = await q.query('SELECT * FROM fixity_cycles WHERE finished_at IS NULL');
    return r.rows[0] ? toCycle(r.rows[0]) : null;
  }

  async lastCycle(q: Queryable = this.db): Promise<FixityCycleRow | null> {
    const r = await q.query('SELECT * FROM fixity_cycles ORDER BY id DESC LIMIT 1');
    return r.rows[0] ? toCycle(r.rows[0]) : null;
  }

  async lastFinishedCycle(): Promise<FixityCycleRow | null> {
    const r = await this.db.query('SELECT * FROM fixity_cycles WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1');
    return r.rows[0] ? toCycle(r.rows[0]) : null;
  }

  /** Runs `work` in a transaction holding the cycle lock, so one host starts or finishes a cycle. */
  cycleTransaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [FIXITY_CYCLE_LOCK]);
      return work(tx);
    });
  }

  async catalogEmpty(q: Queryable = this.db): Promise<boolean> {
    const r = await q.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM evidence) AS any');
    return !r.rows[0]!.any;
  }

  /** A new cycle over every item catalogued now (new items get a row first). */
  async startCycle(tx: Queryable, dueAt: Date): Promise<FixityCycleRow> {
    await tx.query('INSERT INTO fixity_items (evidence_id, size) SELECT id, size FROM evidence ON CONFLICT (evidence_id) DO NOTHING');
    const totals = await tx.query<{ n: string; bytes: string | null }>('SELECT count(*) AS n, sum(size) AS bytes FROM fixity_items');
    const r = await tx.query('INSERT INTO fixity_cycles (due_at, total_items, total_bytes) VALUES ($1, $2, $3) RETURNING *', [
      dueAt,
      Number(totals.rows[0]!.n),
      Number(totals.rows[0]!.bytes ?? 0),
    ]);
    return toCycle(r.rows[0]!);
  }

  async finishCycle(tx: Queryable, cycleId: number, ledger: { ok: boolean; events: number; problems: JsonValue[] }): Promise<void> {
    await tx.query('UPDATE fixity_cycles SET finished_at = now(), ledger_ok = $2, ledger_events = $3, ledger_problems = $4 WHERE id = $1', [
      cycleId,
      ledger.ok,
      ledger.events,
      JSON.stringify(ledger.problems),
    ]);
  }

  async progress(cycleId: number, q: Queryable = this.db): Promise<FixityProgress> {
    const r = await q.query<{ checked: string; bytes: string | null; failed: string; remaining: string }>(
      `SELECT count(*) FILTER (WHERE last_cycle = $1) AS checked,
              sum(size) FILTER (WHERE last_cycle = $1) AS bytes,
              count(*) FILTER (WHERE last_cycle = $1 AND ok = false) AS failed,
              count(*) FILTER (WHERE last_cycle < $1) AS remaining
         FROM fixity_items`,
      [cycleId],
    );
    const row = r.rows[0]!;
    return { checkedItems: Number(row.checked), checkedBytes: Number(row.bytes ?? 0), failedItems: Number(row.failed), remainingItems: Number(row.remaining) };
  }

  /**
   * Locks up to `limit` items not yet checked in this cycle, skipping those another worker
   * holds. The locks last until `tx` ends: its commit records the batch, its loss frees them.
   */
  async claim(tx: Queryable, cycleId: number, limit: number): Promise<FixityClaim[]> {
    const r = await tx.query<{ evidence_id: string; size: string }>(
      `SELECT evidence_id, size FROM fixity_items WHERE last_cycle < $1
        ORDER BY last_cycle, evidence_id LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [cycleId, limit],
    );
    return r.rows.map((row) => ({ evidenceId: row.evidence_id, size: Number(row.size) }));
  }

  async record(tx: Queryable, cycleId: number, batchSeq: number, results: readonly FixityResult[]): Promise<void> {
    if (results.length === 0) return;
    await tx.query(
      `UPDATE fixity_items f SET last_cycle = $1, checked_at = now(), batch_seq = $2, ok = r.ok, sha256 = r.sha256, problems = r.problems
         FROM jsonb_to_recordset($3::jsonb) AS r(evidence_id uuid, ok boolean, sha256 text, problems jsonb)
        WHERE f.evidence_id = r.evidence_id`,
      [cycleId, batchSeq, JSON.stringify(results.map((x) => ({ evidence_id: x.evidenceId, ok: x.ok, sha256: x.sha256, problems: x.problems })))],
    );
  }

  async item(evidenceId: string): Promise<FixityItemRow | null> {
    const r = await this.db.query('SELECT * FROM fixity_items WHERE evidence_id = $1', [evidenceId]);
    return r.rows[0] ? toItem(r.rows[0]) : null;
  }

  /** The item checked longest ago, and how many were never checked. */
  async oldest(): Promise<{ oldest: FixityItemRow | null; neverChecked: number }> {
    const oldest = await this.db.query('SELECT * FROM fixity_items WHERE checked_at IS NOT NULL ORDER BY checked_at LIMIT 1');
    const never = await this.db.query<{ n: string }>(
      'SELECT (SELECT count(*) FROM evidence e WHERE NOT EXISTS (SELECT 1 FROM fixity_items f WHERE f.evidence_id = e.id AND f.checked_at IS NOT NULL)) AS n',
    );
    return { oldest: oldest.rows[0] ? toItem(oldest.rows[0]) : null, neverChecked: Number(never.rows[0]!.n) };
  }

  /** Items whose last scheduled check failed, latest first. */
  async failures(limit: number): Promise<FixityItemRow[]> {
    const r = await this.db.query('SELECT * FROM fixity_items WHERE ok = false ORDER BY checked_at DESC LIMIT $1', [limit]);
    return r.rows.map(toItem);
  }
}
