import type { Queryable } from './postgres.database.ts';

export interface WebhookRow {
  id: string;
  apiKeyId: string;
  url: string;
  events: string[];
  secret: string;
  unitIds: string[];
  createdAt: Date;
  deletedAt: Date | null;
}

export type DeliveryState = 'pending' | 'delivered' | 'failed' | 'cancelled';

export interface DeliveryRow {
  id: string;
  webhookId: string;
  event: string;
  payload: unknown;
  state: DeliveryState;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

const toHook = (r: Record<string, unknown>): WebhookRow => ({
  id: r.id as string,
  apiKeyId: r.api_key_id as string,
  url: r.url as string,
  events: r.events as string[],
  secret: r.secret as string,
  unitIds: r.unit_ids as string[],
  createdAt: r.created_at as Date,
  deletedAt: (r.deleted_at as Date | null) ?? null,
});

const toDelivery = (r: Record<string, unknown>): DeliveryRow => ({
  id: r.id as string,
  webhookId: r.webhook_id as string,
  event: r.event as string,
  payload: r.payload,
  state: r.state as DeliveryState,
  attempts: Number(r.attempts),
  lastStatus: r.last_status === null || r.last_status === undefined ? null : Number(r.last_status),
  lastError: (r.last_error as string | null) ?? null,
  createdAt: r.created_at as Date,
  deliveredAt: (r.delivered_at as Date | null) ?? null,
});

export class WebhookRepository {
  constructor(private readonly db: Queryable) {}

  async add(h: Omit<WebhookRow, 'createdAt' | 'deletedAt'>): Promise<WebhookRow> {
    const r = await this.db.query('INSERT INTO webhooks (id, api_key_id, url, events, secret, unit_ids) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *', [
      h.id,
      h.apiKeyId,
      h.url,
      h.events,
      h.secret,
      h.unitIds,
    ]);
    return toHook(r.rows[0]!);
  }

  async ofKey(apiKeyId: string): Promise<WebhookRow[]> {
    const r = await this.db.query('SELECT * FROM webhooks WHERE api_key_id = $1 AND deleted_at IS NULL ORDER BY created_at', [apiKeyId]);
    return r.rows.map(toHook);
  }

  async get(id: string, tx: Queryable = this.db): Promise<WebhookRow | null> {
    const r = await tx.query('SELECT * FROM webhooks WHERE id = $1', [id]);
    return r.rows[0] ? toHook(r.rows[0]) : null;
  }

  async remove(id: string, apiKeyId: string): Promise<boolean> {
    const r = await this.db.query('UPDATE webhooks SET deleted_at = now() WHERE id = $1 AND api_key_id = $2 AND deleted_at IS NULL', [id, apiKeyId]);
    return (r.rowCount ?? 0) > 0;
  }

  /** Live subscriptions to this event whose units contain the item's unit (or an ancestor of it), of keys not revoked. */
  async subscribers(tx: Queryable, event: string, unitId: string): Promise<WebhookRow[]> {
    const r = await tx.query(
      `SELECT w.* FROM webhooks w JOIN api_keys k ON k.id = w.api_key_id
        WHERE w.deleted_at IS NULL AND k.revoked_at IS NULL AND $1 = ANY(w.events)
          AND EXISTS (SELECT 1 FROM units target, units scope
                       WHERE target.id = $2 AND scope.id = ANY(w.unit_ids) AND starts_with(target.path, scope.path))`,
      [event, unitId],
    );
    return r.rows.map(toHook);
  }

  async addDelivery(tx: Queryable, d: { id: string; webhookId: string; event: string; payload: unknown }): Promise<void> {
    await tx.query('INSERT INTO webhook_deliveries (id, webhook_id, event, payload) VALUES ($1, $2, $3, $4)', [d.id, d.webhookId, d.event, JSON.stringify(d.payload)]);
  }

  async delivery(id: string): Promise<DeliveryRow | null> {
    const r = await this.db.query('SELECT * FROM webhook_deliveries WHERE id = $1', [id]);
    return r.rows[0] ? toDelivery(r.rows[0]) : null;
  }

  async deliveriesOf(webhookId: string, limit: number): Promise<DeliveryRow[]> {
    const r = await this.db.query('SELECT * FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY created_at DESC, id LIMIT $2', [webhookId, limit]);
    return r.rows.map(toDelivery);
  }

  /** Pending deliveries not attempted for a while: their jobs may have been lost with Redis. */
  async stalePending(olderThanSeconds: number, limit: number): Promise<string[]> {
    const r = await this.db.query(
      `SELECT id FROM webhook_deliveries WHERE state = 'pending' AND updated_at < now() - make_interval(secs => $1) ORDER BY created_at LIMIT $2`,
      [olderThanSeconds, limit],
    );
    return r.rows.map((row) => row.id as string);
  }

  async attempted(id: string, outcome: { state: DeliveryState; status: number | null; error: string | null }): Promise<void> {
    await this.db.query(
      `UPDATE webhook_deliveries SET attempts = attempts + 1, state = $2, last_status = $3, last_error = $4, updated_at = now(),
         delivered_at = CASE WHEN $2 = 'delivered' THEN now() ELSE delivered_at END WHERE id = $1`,
      [id, outcome.state, outcome.status, outcome.error],
    );
  }

  async settle(id: string, state: DeliveryState, error: string | null): Promise<void> {
    await this.db.query(`UPDATE webhook_deliveries SET state = $2, last_error = coalesce($3, last_error), updated_at = now() WHERE id = $1 AND state = 'pending'`, [id, state, error]);
  }
}
