import { UnrecoverableError } from 'bullmq';
import { moduleLogger } from '../config/logger.ts';
import type { EvidockConfig } from '../config/config.schema.ts';
import { SIGNATURE_HEADER, signDelivery } from '../archive/webhook-signature.ts';
import type { WebhookRepository } from '../storage/webhook.repository.ts';
import { JobStatus, type WebhookJobPayload } from './job.types.ts';
import type { WebhookSender } from './webhook.http-sender.ts';

const log = moduleLogger('webhook-delivery');

/** A receiver that answers this is gone for good: retrying cannot help. */
const GONE = 410;

/**
 * Delivers one event to one subscriber. The body (and its `id`) is the same on every try,
 * so a receiver that saw a delivery already can tell; the signature's timestamp is fresh.
 */
export class WebhookDeliveryService {
  constructor(
    private readonly deps: {
      config: EvidockConfig;
      hooks: WebhookRepository;
      sender: WebhookSender;
      now?: () => Date;
    },
  ) {}

  async handleWebhook(payload: WebhookJobPayload): Promise<JobStatus> {
    const { hooks } = this.deps;
    const delivery = await hooks.delivery(payload.deliveryId);
    if (!delivery) throw new UnrecoverableError(`no webhook delivery ${payload.deliveryId}`);
    const dlog = log.child({ deliveryId: delivery.id, webhookId: delivery.webhookId, event: delivery.event });
    if (delivery.state !== 'pending') return JobStatus.Skipped;
    const hook = await hooks.get(delivery.webhookId);
    if (!hook || hook.deletedAt) {
      await hooks.settle(delivery.id, 'cancelled', 'the subscription was deleted');
      dlog.warn('subscription deleted before delivery; not sent');
      return JobStatus.Skipped;
    }
    const body = JSON.stringify(delivery.payload);
    const now = Math.floor((this.deps.now?.() ?? new Date()).getTime() / 1000);
    const headers = {
      'content-type': 'application/json; charset=utf-8',
      'user-agent': 'evidock-webhook/1',
      'x-evidock-delivery': delivery.id,
      'x-evidock-event': delivery.event,
      [SIGNATURE_HEADER]: signDelivery(hook.secret, now, body),
    };
    let status: number;
    try {
      status = await this.deps.sender.post(hook.url, body, headers, this.deps.config.webhooks.timeoutSeconds * 1000);
    } catch (error) {
      const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${this.deps.config.webhooks.timeoutSeconds} s` : (error as Error).message;
      await hooks.attempted(delivery.id, { state: 'pending', status: null, error: reason });
      throw new Error(`webhook ${hook.url}: ${reason}`);
    }
    if (status >= 200 && status < 300) {
      await hooks.attempted(delivery.id, { state: 'delivered', status, error: null });
      dlog.info({ status }, 'webhook delivered');
      return JobStatus.Success;
    }
    if (status === GONE) {
      await hooks.attempted(delivery.id, { state: 'failed', status, error: 'the receiver answered 410 Gone' });
      throw new UnrecoverableError(`webhook ${hook.url} answered 410 Gone`);
    }
    await hooks.attempted(delivery.id, { state: 'pending', status, error: `HTTP ${status}` });
    throw new Error(`webhook ${hook.url} answered HTTP ${status}`);
  }

  /** Retries used up: the delivery is left failed (listed with its last error). */
  async markFailed(payload: WebhookJobPayload, reason: string): Promise<void> {
    await this.deps.hooks.settle(payload.deliveryId, 'failed', reason);
  }
}
