import type { RedactionBox } from '../archive/redaction-project.ts';
import type { Database, Queryable } from './postgres.database.ts';

/**
 * Face suggestion runs and their suggested boxes (migration 011). A run is inserted when it is
 * requested and finished once by its job, in the transaction of its REDACTION_SUGGESTED event;
 * each suggestion is decided once, in the transaction of the event that records the decision.
 */

export type SuggestionRunStatus = 'queued' | 'done' | 'skipped' | 'failed';
export type SuggestionDecision = 'pending' | 'accepted' | 'rejected';

export interface SuggestionRunRow {
  id: string;
  evidenceId: string;
  requestedBy: string;
  requestedAt: Date;
  status: SuggestionRunStatus;
  model: string | null;
  framesPerSecond: number | null;
  frameCount: number | null;
  warning: string | null;
  finishedAt: Date | null;
  eventSeq: number | null;
}

export interface SuggestionRow {
  runId: string;
  n: number;
  box: RedactionBox;
  detections: number;
  meanScore: number;
  decision: SuggestionDecision;
  decidedBy: string | null;
  decidedAt: Date | null;
  projectId: string | null;
  version: number | null;
  /** The event that recorded the decision (REDACTION_SAVED or REDACTION_SUGGESTION_REJECTED). */
  decisionEventSeq: number | null;
}

export interface FinishedRun {
  status: 'done' | 'skipped' | 'failed';
  model: string | null;
  framesPerSecond: number | null;
  frameCount: number | null;
  warning: string | null;
  finishedAt: Date;
  eventSeq: number | null;
}

const toRun = (r: Record<string, unknown>): SuggestionRunRow => ({
  id: r.id as string,
  evidenceId: r.evidence_id as string,
  requestedBy: r.requested_by as string,
  requestedAt: r.requested_at as Date,
  status: r.status as SuggestionRunStatus,
  model: (r.model as string | null) ?? null,
  framesPerSecond: (r.frames_per_second as number | null) ?? null,
  frameCount: (r.frame_count as number | null) ?? null,
  warning: (r.warning as string | null) ?? null,
  finishedAt: (r.finished_at as Date | null) ?? null,
  eventSeq: r.event_seq === null || r.event_seq === undefined ? null : Number(r.event_seq),
});

const toSuggestion = (r: Record<string, unknown>): SuggestionRow => ({
  runId: r.run_id as string,
  n: r.n as number,
  box: r.box as RedactionBox,
  detections: r.detections as number,
  meanScore: r.mean_score as number,
  decision: r.decision as SuggestionDecision,
  decidedBy: (r.decided_by as string | null) ?? null,
  decidedAt: (r.decided_at as Date | null) ?? null,
  projectId: (r.project_id as string | null) ?? null,
  version: (r.version as number | null) ?? null,
  decisionEventSeq: r.decision_event_seq === null || r.decision_event_seq === undefined ? null : Number(r.decision_event_seq),
});

export class RedactionSuggestionRepository {
  constructor(private readonly db: Database) {}

  async insertRun(run: Pick<SuggestionRunRow, 'id' | 'evidenceId' | 'requestedBy' | 'requestedAt'>): Promise<void> {
    await this.db.query('INSERT INTO redaction_suggestion_runs (id, evidence_id, requested_by, requested_at) VALUES ($1, $2, $3, $4)', [run.id, run.evidenceId, run.requestedBy, run.requestedAt]);
  }

  async run(runId: string, tx: Queryable = this.db): Promise<SuggestionRunRow | null> {
    const r = await tx.query('SELECT * FROM redaction_suggestion_runs WHERE id = $1', [runId]);
    return r.rows[0] ? toRun(r.rows[0]) : null;
  }

  /** The run, locked until the transaction ends: a replayed job finishes it once. */
  async lockRun(tx: Queryable, runId: string): Promise<SuggestionRunRow | null> {
    const r = await tx.query('SELECT * FROM redaction_suggestion_runs WHERE id = $1 FOR UPDATE', [runId]);
    return r.rows[0] ? toRun(r.rows[0]) : null;
  }

  async finishRun(tx: Queryable, runId: string, f: FinishedRun): Promise<void> {
    await tx.query(
      `UPDATE redaction_suggestion_runs SET status = $2, model = $3, frames_per_second = $4, frame_count = $5, warning = $6, finished_at = $7, event_seq = $8
        WHERE id = $1`,
      [runId, f.status, f.model, f.framesPerSecond, f.frameCount, f.warning, f.finishedAt, f.eventSeq],
    );
  }

  async insertSuggestions(tx: Queryable, runId: string, rows: ReadonlyArray<Pick<SuggestionRow, 'n' | 'box' | 'detections' | 'meanScore'>>): Promise<void> {
    for (const s of rows) {
      await tx.query('INSERT INTO redaction_suggestions (run_id, n, box, detections, mean_score) VALUES ($1, $2, $3, $4, $5)', [runId, s.n, JSON.stringify(s.box), s.detections, s.meanScore]);
    }
  }

  /** The suggestion, locked until the transaction ends: it is decided once. */
  async lockSuggestion(tx: Queryable, runId: string, n: number): Promise<(SuggestionRow & { evidenceId: string }) | null> {
    const r = await tx.query(
      `SELECT s.*, r.evidence_id FROM redaction_suggestions s JOIN redaction_suggestion_runs r ON r.id = s.run_id
        WHERE s.run_id = $1 AND s.n = $2 FOR UPDATE OF s`,
      [runId, n],
    );
    return r.rows[0] ? { ...toSuggestion(r.rows[0]), evidenceId: r.rows[0].evidence_id as string } : null;
  }

  async decide(tx: Queryable, runId: string, n: number, d: { decision: 'accepted' | 'rejected'; by: string; at: Date; projectId: string | null; version: number | null; eventSeq: number }): Promise<void> {
    await tx.query(
      `UPDATE redaction_suggestions SET decision = $3, decided_by = $4, decided_at = $5, project_id = $6, version = $7, decision_event_seq = $8
        WHERE run_id = $1 AND n = $2`,
      [runId, n, d.decision, d.by, d.at, d.projectId, d.version, d.eventSeq],
    );
  }

  /** The item's runs, newest first, each with its suggestions in order. */
  async runsOf(evidenceId: string): Promise<Array<SuggestionRunRow & { suggestions: SuggestionRow[] }>> {
    const runs = await this.db.query('SELECT * FROM redaction_suggestion_runs WHERE evidence_id = $1 ORDER BY requested_at DESC, id', [evidenceId]);
    const rows = await this.db.query(
      `SELECT s.* FROM redaction_suggestions s JOIN redaction_suggestion_runs r ON r.id = s.run_id WHERE r.evidence_id = $1 ORDER BY s.run_id, s.n`,
      [evidenceId],
    );
    const byRun = new Map<string, SuggestionRow[]>();
    for (const s of rows.rows.map(toSuggestion)) byRun.set(s.runId, [...(byRun.get(s.runId) ?? []), s]);
    return runs.rows.map((r) => {
      const run = toRun(r);
      return { ...run, suggestions: byRun.get(run.id) ?? [] };
    });
  }
}
