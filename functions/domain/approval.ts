/**
 * Approvals of the remediation plan by Legal, Business and SRE (seed 001 §5 RACI). An approver
 * reaches the case through an emailed link that carries an unguessable secret and nothing else
 * of value: the Step Functions task token never leaves the server.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { InputIssue } from './errors.ts';
import { InvalidInputError } from './errors.ts';
import { isIncidentId } from './incident.ts';
import { sha256Hex } from './json.ts';
import { LIMITS } from './limits.ts';
import type { ApproverRole } from './vocabulary.ts';
import { APPROVER_ROLES } from './vocabulary.ts';

export type ApprovalStatus = 'PENDING' | 'APPROVED' | 'REJECTED' | 'WITHDRAWN';
export type Decision = 'approve' | 'reject';

export interface Approval {
  readonly incidentId: string;
  readonly round: number;
  readonly role: ApproverRole;
  /** The mailbox the link was sent to. */
  readonly approverEmail: string;
  readonly status: ApprovalStatus;
  readonly requestedAt: string;
  readonly planHash: string;
  readonly planVersion: number;
  /** SHA-256 of the link secret: whoever reads the table still cannot forge a link. */
  readonly linkSecretHash: string;
  readonly emailedAt?: string;
  readonly decision?: {
    readonly decision: Decision;
    readonly name: string;
    readonly comment: string;
    readonly at: string;
    readonly ledgerSeq?: number;
  };
  readonly withdrawnReason?: string;
  /** Set once the workflow was answered for this decision: whether it was still waiting. */
  readonly workflowAnswer?: { readonly at: string; readonly resumed: boolean };
}

/**
 * How long the state machine waits for one approver's decision (TimeoutSeconds of each "Ask …
 * to approve the plan" task; a test holds the two equal): past it the round times out and the
 * incident halts until someone continues it.
 */
export const APPROVAL_WAIT_SECONDS = 7 * 24 * 60 * 60;

/** When an approval request times out: its wait started when it was requested (a retried attempt waits afresh, so never earlier). */
export function approvalDueAt(approval: Pick<Approval, 'requestedAt'>): string {
  return new Date(Date.parse(approval.requestedAt) + APPROVAL_WAIT_SECONDS * 1000).toISOString();
}

/** The parts of an approval link id: `INC-2026-0001.1.legal.<secret>`. */
export interface ApprovalRef {
  readonly incidentId: string;
  readonly round: number;
  readonly role: ApproverRole;
  readonly secret: string;
}

/** Parts of a link id; {@link parseApprovalId} then insists on the canonical form. */
const LINK_ID = /^(INC-\d{4}-\d+)\.([1-9]\d{0,3})\.([a-z]+)\.([A-Za-z0-9_-]{32})$/;

/** A fresh 192-bit link secret, URL-safe. */
export function newLinkSecret(): string {
  return randomBytes(24).toString('base64url');
}

export function hashLinkSecret(secret: string): string {
  return sha256Hex(secret);
}

/** Constant-time check of a presented secret against the stored hash. */
export function linkSecretMatches(secret: string, storedHash: string): boolean {
  const presented = Buffer.from(hashLinkSecret(secret), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}

export function formatApprovalId(ref: ApprovalRef): string {
  return `${ref.incidentId}.${ref.round}.${ref.role}.${ref.secret}`;
}

/**
 * Parses a link id; `undefined` for anything malformed or not written exactly as Casebook writes
 * it (round `01` is not round `1`), so each approval has one link (the caller answers 404,
 * revealing nothing).
 */
export function parseApprovalId(value: string): ApprovalRef | undefined {
  const m = LINK_ID.exec(value);
  if (!m) return undefined;
  const [, incidentId, round, role, secret] = m;
  if (!incidentId || !round || !secret || !APPROVER_ROLES.includes(role as ApproverRole)) return undefined;
  if (!isIncidentId(incidentId)) return undefined;
  const ref = { incidentId, round: Number(round), role: role as ApproverRole, secret };
  return ref.round <= LIMITS.approvalRounds && formatApprovalId(ref) === value ? ref : undefined;
}

/** What the approval form posts. */
export interface DecisionForm {
  readonly decision: Decision;
  readonly name: string;
  readonly comment: string;
}

/** Validates the posted form; a rejection must say why. */
export function parseDecisionForm(fields: Readonly<Record<string, string>>): DecisionForm {
  const issues: InputIssue[] = [];
  const decision = fields.decision;
  if (decision !== 'approve' && decision !== 'reject') {
    issues.push({ field: 'decision', message: 'must be "approve" or "reject"' });
  }
  // Unpaired surrogates cannot be stored as UTF-8: they become U+FFFD.
  const name = (fields.name ?? '').toWellFormed().trim();
  if (name.length === 0) issues.push({ field: 'name', message: 'is required: say who is deciding' });
  if (name.length > LIMITS.deciderNameChars) {
    issues.push({ field: 'name', message: `must be at most ${LIMITS.deciderNameChars} characters` });
  }
  const comment = (fields.comment ?? '').toWellFormed().trim();
  if (decision === 'reject' && comment.length === 0) {
    issues.push({ field: 'comment', message: 'is required when rejecting: give the reason' });
  }
  if (comment.length > LIMITS.decisionCommentChars) {
    issues.push({ field: 'comment', message: `must be at most ${LIMITS.decisionCommentChars} characters` });
  }
  if (issues.length > 0) throw new InvalidInputError(issues);
  return { decision: decision as Decision, name, comment };
}
