/**
 * Signed webhook events, as Stripe sends them: `Stripe-Signature: t=<unix>,v1=<HMAC-SHA256 of
 * "<t>.<payload>" with the endpoint secret>`, which `stripe.webhooks.constructEvent` verifies.
 * Deliveries are retried a few times and not persisted (Stripe retries for days); polling a refund
 * is the dependable way to learn its outcome.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StripeObject } from './store.ts';

export interface WebhookEndpoint {
  readonly url: string;
  /** `whsec_…`: the secret `constructEvent` is given. */
  readonly secret: string;
}

const ATTEMPTS = 3;

/** The header value Stripe signs a payload with. */
export function signatureHeader(payload: string, secret: string, timestamp: number): string {
  const signature = createHmac('sha256', secret).update(`${timestamp}.${payload}`).digest('hex');
  return `t=${timestamp},v1=${signature}`;
}

export class WebhookSender {
  private readonly endpoint: WebhookEndpoint;
  private readonly log: (line: string) => void;
  private readonly aborter = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(endpoint: WebhookEndpoint, log: (line: string) => void) {
    this.endpoint = endpoint;
    this.log = log;
  }

  /** Sends `type` about `object` in the background. */
  send(type: string, object: StripeObject, previousAttributes: Record<string, unknown>, now: number): void {
    const created = Math.floor(now / 1000);
    const event = {
      id: `evt_${randomBytes(12).toString('hex')}`,
      object: 'event',
      api_version: null,
      created,
      data: { object, previous_attributes: previousAttributes },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
    };
    const delivery = this.deliver(JSON.stringify(event), type).finally(() => this.inFlight.delete(delivery));
    this.inFlight.add(delivery);
  }

  /** Stops retrying and waits for deliveries under way. */
  async close(): Promise<void> {
    this.aborter.abort();
    await Promise.allSettled([...this.inFlight]);
  }

  private async deliver(payload: string, type: string): Promise<void> {
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      if (this.aborter.signal.aborted) return;
      try {
        const res = await fetch(this.endpoint.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json; charset=utf-8',
            'stripe-signature': signatureHeader(payload, this.endpoint.secret, Math.floor(Date.now() / 1000)),
          },
          body: payload,
          signal: this.aborter.signal,
        });
        await res.body?.cancel();
        if (res.ok) return;
        this.log(`stripe: webhook ${type} answered ${res.status} (attempt ${attempt})`);
      } catch (error) {
        if (this.aborter.signal.aborted) return;
        this.log(`stripe: webhook ${type} failed: ${(error as Error).message} (attempt ${attempt})`);
      }
      if (attempt < ATTEMPTS)
        await sleep(250 * 2 ** attempt, undefined, { signal: this.aborter.signal }).catch(() => undefined);
    }
  }
}
