/**
 * Requests to approve the remediation plan, one per role a round asks (seed 001 §5 RACI, as the
 * approval policy has it). An approver reaches the case through an e-mailed link that carries an
 * unguessable secret and nothing else of value: the Step Functions task token never leaves the
 * server, and only the secret's SHA-256 is stored.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Decision, Vote } from './approval-policy.ts';
import { DECISIONS } from './approval-policy.ts';
import type { InputIssue } from './errors.ts';
import { InvalidInputError } from './errors.ts';
import { isIncidentId } from './incident.ts';
import { sha256Hex } from './json.ts';
import { LIMITS } from './limits.ts';
import type { PlanSnapshot } from './plan.ts';
import type { ApproverRole } from './vocabulary.ts';
import { APPROVER_ROLES } from './vocabulary.ts';

export type { Decision };

/** Where a request stands: waiting, decided one of three ways, or closed with its round. */
export type ApprovalStatus = 'PENDING' | 'APPROVED' | 'REJECTED' | 'CHANGES_REQUESTED' | 'WITHDRAWN';

/** The status a decision gives its request. */
export const DECIDED_STATUS: Readonly<Record<Decision, Exclude<ApprovalStatus, 'PENDING' | 'WITHDRAWN'>>> = {
  approve: 'APPROVED',
  reject: 'REJECTED',
  'request-changes': 'CHANGES_REQUESTED',
};

/** Who decided from which client: a forwarded or leaked link shows up here. */
export interface DecisionClient {
  readonly ip: string;
  readonly userAgent: string;
}

/** Which of a role's approvers a link is for: the roster's primary, or the backup asked at the deadline. */
export type SeatName = 'primary' | 'backup';

/**
 * The backup approver's request on a role's seat, asked when the round's deadline passed with the
 * role undecided: a link of its own (its own secret), on the same request, so the role still
 * decides once — whichever of the two decides first.
 */
export interface BackupRequest {
  readonly email: string;
  readonly name: string;
  readonly requestedAt: string;
  readonly linkSecretHash: string;
  readonly emailedAt?: string;
}

/** A role's request in a round: its primary approver's link, and its backup's once asked. */
export interface Approval {
  readonly incidentId: string;
  readonly round: number;
  readonly role: ApproverRole;
  /** The mailbox the link was sent to: the roster's approver for the role. */
  readonly approverEmail: string;
  /** Their name on the roster: the pages and the Decision Log name them by it. */
  readonly approverName: string;
  readonly status: ApprovalStatus;
  readonly requestedAt: string;
  readonly planHash: string;
  readonly planVersion: number;
  /** The plan as the request showed it, so a later round can say what changed since. */
  readonly plan?: PlanSnapshot;
  /** The plan this approver saw last, in an earlier round: what the request says changed since. */
  readonly lastSeen?: PlanSnapshot & { readonly round: number };
  /** The approval policy the round was opened under. */
  readonly policyVersion: string;
  /** SHA-256 of the link secret: whoever reads the table still cannot forge a link. */
  readonly linkSecretHash: string;
  readonly emailedAt?: string;
  /** The backup approver, asked at the round's deadline while the role was undecided. */
  readonly backup?: BackupRequest;
  readonly decision?: {
    readonly decision: Decision;
    /** Whose link decided: the primary's or the backup's. */
    readonly seat: SeatName;
    /** The roster's name for the approver the link was sent to: the form asks for none. */
    readonly name: string;
    readonly comment: string;
    /** What the approver cites: a ToS clause, a regulation, a policy. */
    readonly basis?: string;
    readonly at: string;
    readonly client?: DecisionClient;
  };
  readonly withdrawnReason?: string;
}

/** The parts of an approval link id: `INC-2026-0001.1.legal.<secret>`. */
export interface ApprovalRef {
  readonly incidentId: string;
  readonly round: number;
  readonly role: ApproverRole;
  readonly secret: string;
}

/** Parts of a link id; {@link parseApprovalId} then insists on the canonical form. */
const LINK_ID = /^(INC-\d{4}-\d+)\.([1-9]\d{0,3})\.([a-z]+)\.([A-Za-z0-9_-]{43})$/;

/** A fresh 256-bit link secret, URL-safe. */
export function newLinkSecret(): string {
  return randomBytes(32).toString('base64url');
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

/** Whose link a presented secret is on a request, or undefined when it is neither's. */
export function seatOfSecret(approval: Approval, secret: string): SeatName | undefined {
  // Both are compared, whichever matches: the time taken says nothing about which one did.
  const primary = linkSecretMatches(secret, approval.linkSecretHash);
  const backup = approval.backup ? linkSecretMatches(secret, approval.backup.linkSecretHash) : false;
  return primary ? 'primary' : backup ? 'backup' : undefined;
}

/** The approver a seat of the request is: the primary, or the backup once asked. */
export function approverAt(
  approval: Approval,
  seat: SeatName,
): { readonly email: string; readonly name: string } {
  return seat === 'backup' && approval.backup
    ? { email: approval.backup.email, name: approval.backup.name }
    : { email: approval.approverEmail, name: approval.approverName };
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

/** What the approval form posts; the approver's name comes from the roster, not the form. */
export interface DecisionForm {
  readonly decision: Decision;
  readonly comment: string;
  readonly basis: string;
}

/** Validates the posted form; a rejection or a request for changes must say why. */
export function parseDecisionForm(fields: Readonly<Record<string, string>>): DecisionForm {
  const issues: InputIssue[] = [];
  const decision = fields.decision;
  const known = (DECISIONS as readonly string[]).includes(decision ?? '');
  if (!known) issues.push({ field: 'decision', message: `must be one of ${DECISIONS.join(', ')}` });
  // Unpaired surrogates cannot be stored as UTF-8: they become U+FFFD.
  const comment = (fields.comment ?? '').toWellFormed().trim();
  if (known && decision !== 'approve' && comment.length === 0) {
    issues.push({
      field: 'comment',
      message: `is required to ${decision === 'reject' ? 'reject' : 'request changes'}: say why`,
    });
  }
  if (comment.length > LIMITS.decisionCommentChars) {
    issues.push({ field: 'comment', message: `must be at most ${LIMITS.decisionCommentChars} characters` });
  }
  const basis = (fields.basis ?? '').toWellFormed().trim();
  if (basis.length > LIMITS.decisionBasisChars) {
    issues.push({ field: 'basis', message: `must be at most ${LIMITS.decisionBasisChars} characters` });
  }
  if (issues.length > 0) throw new InvalidInputError(issues);
  return { decision: decision as Decision, comment, basis };
}

/** The votes of a round's decided requests, as the policy weighs them. */
export function votesOf(approvals: readonly Approval[]): Vote[] {
  return approvals.flatMap((a) =>
    a.decision ? [{ role: a.role, decision: a.decision.decision, comment: a.decision.comment }] : [],
  );
}
