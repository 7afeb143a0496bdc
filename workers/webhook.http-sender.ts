/** The one file that sends webhook deliveries over HTTP. */

export interface WebhookSender {
  /** The receiver's status, or throws on a network failure or timeout. */
  post(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<number>;
}

export class FetchWebhookSender implements WebhookSender {
  async post(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<number> {
    const res = await fetch(url, { method: 'POST', body, headers, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    // The body is not needed, but must be consumed so the connection is reused.
    await res.arrayBuffer().catch(() => undefined);
    return res.status;
  }
}
