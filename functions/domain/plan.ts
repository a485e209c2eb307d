/**
 * The remediation plan the triangle approves (seed 001 §2, seed 000 §2.4): the external effects
 * Casebook will add on top of history. Approvals refer to the plan by its hash, so a decision
 * always says exactly what it approved.
 */
import type { Incident } from './incident.ts';
import { canonicalJson, sha256Hex } from './json.ts';
import { customerNoticeEmail, messageHash } from './messages.ts';
import type { ActionSafety, World } from './vocabulary.ts';

/** One external effect the plan proposes. */
export interface PlannedEffect {
  /** Unique within the incident; with the incident id it is the effect's idempotency key. */
  readonly effectId: string;
  readonly kind: 'customer_notice';
  readonly world: World;
  readonly safety: ActionSafety;
  readonly to: string;
  readonly template: 'apology';
  readonly description: string;
  /** SHA-256 of the message as rendered when proposed: what the approvers read is what is sent. */
  readonly contentHash: string;
}

export interface RemediationPlan {
  readonly version: number;
  readonly summary: string;
  readonly proposedAt: string;
  readonly proposedBy: string;
  readonly effects: readonly PlannedEffect[];
  /** SHA-256 of the plan's content (everything above): what an approval approves. */
  readonly hash: string;
}

/** Hash of a plan's content, independent of key order. */
export function planHash(plan: Omit<RemediationPlan, 'hash'>): string {
  return sha256Hex(canonicalJson(plan));
}

/**
 * The plan Casebook proposes by itself in Understand: tell every customer the alert names what
 * happened. A responder-authored plan replaces it in a later version of Casebook.
 */
export function proposeDefaultPlan(incident: Incident, now: string): RemediationPlan {
  const version = (incident.plan?.version ?? 0) + 1;
  const effects: PlannedEffect[] = incident.customerContacts.map((to, i) => ({
    effectId: `P${version}-E${i + 1}`,
    kind: 'customer_notice',
    world: 'RML3',
    safety: 'RISKY',
    to,
    template: 'apology',
    description: `Send an apology and explanation to ${to}`,
    contentHash: messageHash(customerNoticeEmail(incident, to)),
  }));
  const summary =
    effects.length > 0
      ? `Notify ${effects.length} affected customer${effects.length === 1 ? '' : 's'} with an apology and an explanation of what happened.`
      : 'No customer-facing effect: the alert names no affected customer. Approve to record that no notice is sent.';
  const content = { version, summary, proposedAt: now, proposedBy: 'casebook (default plan)', effects };
  return { ...content, hash: planHash(content) };
}
