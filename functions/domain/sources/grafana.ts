/**
 * Grafana unified alerting's webhook contact point. Grafana's alerting is an Alertmanager inside,
 * so the body is Alertmanager's group (version "1", with Grafana's `orgId`, `title`, `state` and
 * `message` beside it) and is normalized the same way.
 *
 * With an HMAC secret set on the contact point, Grafana signs every notification: lowercase hex
 * HMAC-SHA256 in `X-Grafana-Alerting-Signature`, over the raw body, or over
 * `"<unix seconds>:" + body` when a timestamp header is configured — Casebook reads it from
 * `X-Grafana-Alerting-Signature-Timestamp` and refuses it outside the replay window.
 * https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier/
 */
import * as z from 'zod';
import type { NormalizedAlert } from '../alert.ts';
import { zodIssues } from '../alert.ts';
import { InvalidInputError } from '../errors.ts';
import { sha256Hex } from '../json.ts';
import { alertGroupShape, normalizeAlertGroup } from './alertmanager.ts';
import type { Verdict, WebhookRequest } from './signature.ts';
import { ACCEPTED, anySignatureMatches, hmacSha256Hex, refused, timestampProblem } from './signature.ts';

export const GRAFANA_SIGNATURE_HEADER = 'X-Grafana-Alerting-Signature';
export const GRAFANA_TIMESTAMP_HEADER = 'X-Grafana-Alerting-Signature-Timestamp';

export const grafanaWebhookSchema = z.object({
  version: z.literal('1'),
  orgId: z.number().int().nonnegative().default(0),
  ...alertGroupShape,
});

/** Parses a Grafana webhook body, or throws {@link InvalidInputError} naming every bad field. */
export function parseGrafanaWebhook(body: unknown): NormalizedAlert {
  const parsed = grafanaWebhookSchema.safeParse(body);
  if (!parsed.success) throw new InvalidInputError(zodIssues(parsed.error));
  const hook = parsed.data;
  // The organization and the contact point are part of the key, as the receiver is Alertmanager's.
  const correlationKey = `grafana:${sha256Hex(`${hook.orgId}\n${hook.receiver}\n${hook.groupKey}`).slice(0, 32)}`;
  return normalizeAlertGroup(hook, { source: 'grafana', correlationKey });
}

/** Checks Grafana's HMAC signature (and its timestamp, when sent) against each of `secrets`. */
export function verifyGrafanaSignature(request: WebhookRequest, secrets: readonly string[]): Verdict {
  const signature = request.header(GRAFANA_SIGNATURE_HEADER)?.trim();
  if (!signature) return refused(`${GRAFANA_SIGNATURE_HEADER} header is missing`);
  const timestamp = request.header(GRAFANA_TIMESTAMP_HEADER);
  if (timestamp !== undefined) {
    const problem = timestampProblem(timestamp, request.now);
    if (problem) return refused(problem);
  }
  const expected = secrets.map((secret) =>
    timestamp === undefined
      ? hmacSha256Hex(secret, request.body)
      : hmacSha256Hex(secret, `${timestamp.trim()}:`, request.body),
  );
  return anySignatureMatches([signature], expected)
    ? ACCEPTED
    : refused(`${GRAFANA_SIGNATURE_HEADER} does not match the body`);
}
