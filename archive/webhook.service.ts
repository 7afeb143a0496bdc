import { randomBytes, randomUUID } from 'node:crypto';
import type { EvidockConfig } from '../config/config.schema.ts';
import { moduleLogger } from '../config/logger.ts';
import type { Queryable } from '../storage/postgres.database.ts';
import type { DeliveryRow, WebhookRepository, WebhookRow } from '../storage/webhook.repository.ts';
import type { JobQueuePort } from '../workers/ingest.service.ts';
import { JobName } from '../workers/job.types.ts';
import { can } from './access-policy.ts';
import { forbidden, invalid, notFound } from './archive.errors.ts';
import type { Principal } from './principal.ts';
import { webhookUrlProblem } from './webhook-signature.ts';

const log = moduleLogger('webhooks');

export const WEBHOOK_EVENTS = ['evidence.stored', 'evidence.linked', 'evidence.tagged', 'action.matched', 'evidence.fixity_failed'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/**
 * Case systems' subscriptions. An event is written as one delivery row per subscriber in the
 * transaction that made it (an outbox: no event is announced that did not happen, none that
 * happened is lost), then handed to the webhook queue after commit. A delivery whose job was
 * lost (Redis gone) is queued again by `redispatchStale`; its id stays the same.
 */
export class WebhookService {
  constructor(
    private readonly deps: {
      config: EvidockConfig;
      hooks: WebhookRepository;
      queue: Pick<JobQueuePort, 'enqueue'>;
    },
  ) {}

  async subscribe(p: Principal, s: { url: string; events: string[] }): Promise<WebhookRow & { secret: string }> {
    if (p.kind !== 'key' || !can(p.role, 'webhooks')) throw forbidden('订阅事件（仅案件系统的 API 密钥）');
    const problems: string[] = [];
    const urlProblem = webhookUrlProblem(s.url, this.deps.config.webhooks.allowPrivateTargets);
    if (urlProblem) problems.push(urlProblem);
    const events = [...new Set(s.events)];
    if (events.length === 0) problems.push(`events: at least one of ${WEBHOOK_EVENTS.join(', ')}`);
    for (const e of events) if (!(WEBHOOK_EVENTS as readonly string[]).includes(e)) problems.push(`events: ${e} is not one of ${WEBHOOK_EVENTS.join(', ')}`);
    if (problems.length > 0) throw invalid(problems);
    const hook = await this.deps.hooks.add({ id: randomUUID(), apiKeyId: p.id, url: s.url, events, secret: randomBytes(32).toString('base64url'), unitIds: [...p.unitIds] });
    log.info({ webhookId: hook.id, key: p.name, events }, 'webhook subscribed');
    return hook;
  }

  async list(p: Principal): Promise<WebhookRow[]> {
    if (p.kind !== 'key' || !can(p.role, 'webhooks')) throw forbidden('查看订阅');
    return this.deps.hooks.ofKey(p.id);
  }

  async remove(p: Principal, id: string): Promise<void> {
    if (p.kind !== 'key' || !can(p.role, 'webhooks')) throw forbidden('取消订阅');
    if (!(await this.deps.hooks.remove(id, p.id))) throw notFound('webhook', id);
  }

  async deliveries(p: Principal, id: string, limit: number): Promise<DeliveryRow[]> {
    const hook = await this.deps.hooks.get(id);
    if (!hook || p.kind !== 'key' || hook.apiKeyId !== p.id) throw notFound('webhook', id);
    return this.deps.hooks.deliveriesOf(id, limit);
  }

  /** In the caller's transaction: one delivery per subscriber; returns their ids for `dispatch`. */
  async publish(tx: Queryable, event: WebhookEvent, unitId: string | null, data: Record<string, unknown>): Promise<string[]> {
    if (unitId === null) return [];
    const ids: string[] = [];
    for (const hook of await this.deps.hooks.subscribers(tx, event, unitId)) {
      const id = randomUUID();
      await this.deps.hooks.addDelivery(tx, { id, webhookId: hook.id, event, payload: { id, event, occurredAt: new Date().toISOString(), data } });
      ids.push(id);
    }
    return ids;
  }

  /**
   * After commit. A Redis that is away neither holds up the request (the wait is bounded by
   * server.dependencyTimeoutMs) nor loses a delivery: the rows wait for `redispatchStale`.
   */
  async dispatch(deliveryIds: readonly string[]): Promise<void> {
    const timeoutMs = this.deps.config.server.dependencyTimeoutMs;
    for (const deliveryId of deliveryIds) {
      let timer: NodeJS.Timeout | undefined;
      const queued = this.deps.queue.enqueue(JobName.Webhook, { deliveryId });
      queued.catch(() => undefined);
      try {
        await Promise.race([queued, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs)))]);
      } catch (error) {
        log.warn({ deliveryId, err: (error as Error).message }, 'webhook delivery not queued yet; it is queued again later');
        return;
      } finally {
        clearTimeout(timer);
      }
    }
  }

  async redispatchStale(olderThanSeconds = 60): Promise<number> {
    const ids = await this.deps.hooks.stalePending(olderThanSeconds, 500);
    await this.dispatch(ids);
    return ids.length;
  }
}
