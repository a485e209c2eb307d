/**
 * Severity targets and the deadlines they give an incident (seed 003's table, seed 004's
 * severities), the size an impact gives it (seed 001 §3.3), and the regulatory clock personal
 * data starts (GDPR Art. 33: 72 hours from awareness). Rules as data, so changing a target is one
 * line here and every wait, page and escalation follows.
 */
import type { Severity } from './vocabulary.ts';

/** When a target falls: a fixed time after detection, or the next business day. */
export type Target = { readonly minutes: number } | { readonly nextBusinessDay: true };

/** Response, resolution, postmortem and decision targets of one severity. */
export interface SeverityTarget {
  readonly response: Target;
  readonly resolution: Target;
  /** From resolution to the postmortem filed. */
  readonly postmortem: Target;
  /**
   * From an approval round's start to its deadline: short enough to leave Act time before the
   * resolution target (a SEV1 resolved in 2 h cannot wait 72 h for its approvers).
   */
  readonly decision: { readonly minutes: number };
}

export type SeverityTargets = Readonly<Record<Severity, SeverityTarget>>;

/**
 * Seed 003: P1 15 min / 2 h, P2 1 h / 8 h, P3 next business day / 48 h; a postmortem within 48 h
 * of a P1, within a week of a P2. SEV4 is not in the seed: cosmetic or invisible to users (seed
 * 004) — worked as regular work, so a response within a week, a resolution within two weeks.
 * SEV3 and SEV4 postmortems are due within two weeks.
 */
export const SEVERITY_TARGETS: SeverityTargets = {
  SEV1: {
    response: { minutes: 15 },
    resolution: { minutes: 120 },
    postmortem: { minutes: 48 * 60 },
    decision: { minutes: 30 },
  },
  SEV2: {
    response: { minutes: 60 },
    resolution: { minutes: 480 },
    postmortem: { minutes: 7 * 24 * 60 },
    decision: { minutes: 120 },
  },
  SEV3: {
    response: { nextBusinessDay: true },
    resolution: { minutes: 48 * 60 },
    postmortem: { minutes: 14 * 24 * 60 },
    decision: { minutes: 24 * 60 },
  },
  SEV4: {
    response: { minutes: 7 * 24 * 60 },
    resolution: { minutes: 14 * 24 * 60 },
    postmortem: { minutes: 14 * 24 * 60 },
    decision: { minutes: 72 * 60 },
  },
};

/** Hours from awareness of a personal-data breach to the regulator's notification (GDPR Art. 33). */
export const REGULATORY_CLOCK_HOURS = 72;

/**
 * Everything the clock of an incident is read with: the severity targets, the regulatory clock,
 * how long an approval round and an open question about an effect may wait, and how often a wait
 * looks at the clock (at least every `floorSeconds` after a missed deadline, at most every
 * `ceilingSeconds`). Configuration may shorten or lengthen any of them.
 */
export interface DeadlinePolicy {
  readonly targets: SeverityTargets;
  /** From awareness that personal data is involved to the regulator told. */
  readonly regulatoryMinutes: number;
  /**
   * One decision deadline for every severity, in place of each severity's own (`targets[s].decision`):
   * a drill's setting. From a round's start to its deadline: its approvers are reminded halfway,
   * backups asked at the end.
   */
  readonly decisionMinutes?: number;
  /** From a round's deadline to its final timeout, when the round is escalated (and waits on). */
  readonly escalationMinutes: number;
  readonly answersMinutes: number;
  readonly floorSeconds: number;
  readonly ceilingSeconds: number;
}

/** What an incident's own deadlines are computed with. */
export type DeadlineRules = Pick<DeadlinePolicy, 'targets' | 'regulatoryMinutes'>;

export const DEFAULT_DEADLINE_POLICY: DeadlinePolicy = {
  targets: SEVERITY_TARGETS,
  regulatoryMinutes: REGULATORY_CLOCK_HOURS * 60,
  // The backups' day: a backup asked at the deadline has as long again as a working day and night.
  escalationMinutes: 24 * 60,
  answersMinutes: 4 * 60,
  floorSeconds: 60,
  ceilingSeconds: 3_600,
};

/**
 * The moments of an approval round (issue 11): the approvers still undecided are reminded at half
 * its deadline; at the deadline each undecided role's backup is asked; at the final timeout (the
 * deadline plus the escalation time) the round is escalated. It waits on after all three: a late
 * decision still counts.
 */
export interface RoundClock {
  readonly remindAt: string;
  readonly dueAt: string;
  readonly finalAt: string;
}

/** What a round's moments are computed with. */
export type RoundRules = Pick<DeadlinePolicy, 'targets' | 'decisionMinutes' | 'escalationMinutes'>;

/** How long the approvers of an incident of `severity` have to decide: the one value every wait, page and e-mail reads. */
export function decisionMinutes(
  policy: Pick<RoundRules, 'targets' | 'decisionMinutes'>,
  severity: Severity,
): number {
  return policy.decisionMinutes ?? policy.targets[severity].decision.minutes;
}

export function roundClock(roundStartedAt: string, policy: RoundRules, severity: Severity): RoundClock {
  const at = (minutes: number) => new Date(Date.parse(roundStartedAt) + minutes * 60_000).toISOString();
  const decision = decisionMinutes(policy, severity);
  return {
    remindAt: at(decision / 2),
    dueAt: at(decision),
    finalAt: at(decision + policy.escalationMinutes),
  };
}

/** 09:00 UTC on the next weekday after `from` (weekends skipped). */
export function nextBusinessDay(from: Date): Date {
  const d = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate() + 1, 9));
  while (d.getUTCDay() === 0 || d.getUTCDay() === 6) d.setUTCDate(d.getUTCDate() + 1);
  return d;
}

export function targetTime(from: Date, target: Target): Date {
  return 'minutes' in target ? new Date(from.getTime() + target.minutes * 60_000) : nextBusinessDay(from);
}

/**
 * The incident's own deadlines (response, resolution, the regulatory clock, the postmortem), and
 * those of a wait: an approval round's decision, the answers to questions about effects.
 */
export const DEADLINE_KINDS = [
  'response',
  'resolution',
  'regulatory',
  'postmortem',
  'decision',
  'answers',
] as const;
export type DeadlineKind = (typeof DEADLINE_KINDS)[number];

export interface Deadline {
  readonly kind: DeadlineKind;
  readonly due: string;
  /** Met (the response came, the incident resolved, the regulator was told) or not yet. */
  readonly metAt?: string;
}

/** What the deadlines are computed from. */
export interface DeadlineFacts {
  readonly severity: Severity;
  readonly detectedAt: string;
  readonly acknowledgedAt?: string;
  readonly resolvedAt?: string;
  /** When Casebook learnt that personal data is involved (impact assets include `pii`). */
  readonly piiAwareAt?: string;
  readonly regulatorNotifiedAt?: string;
  readonly postmortemAt?: string;
}

/** The incident's deadlines now; a severity change moves them (they are always computed, never stored). */
export function deadlines(facts: DeadlineFacts, rules: DeadlineRules = DEFAULT_DEADLINE_POLICY): Deadline[] {
  const detected = new Date(facts.detectedAt);
  const { response, resolution, postmortem } = rules.targets[facts.severity];
  const out: Deadline[] = [
    {
      kind: 'response',
      due: targetTime(detected, response).toISOString(),
      ...(facts.acknowledgedAt ? { metAt: facts.acknowledgedAt } : {}),
    },
    {
      kind: 'resolution',
      due: targetTime(detected, resolution).toISOString(),
      ...(facts.resolvedAt ? { metAt: facts.resolvedAt } : {}),
    },
  ];
  if (facts.piiAwareAt) {
    out.push({
      kind: 'regulatory',
      due: targetTime(new Date(facts.piiAwareAt), { minutes: rules.regulatoryMinutes }).toISOString(),
      ...(facts.regulatorNotifiedAt ? { metAt: facts.regulatorNotifiedAt } : {}),
    });
  }
  if (facts.resolvedAt) {
    out.push({
      kind: 'postmortem',
      due: targetTime(new Date(facts.resolvedAt), postmortem).toISOString(),
      ...(facts.postmortemAt ? { metAt: facts.postmortemAt } : {}),
    });
  }
  return out;
}

/**
 * The incident's resolution deadline alone, as an approval request states it beside the decision
 * deadline: an approver of a plan whose incident's resolution target passed is told so.
 */
export function resolutionDeadline(
  facts: Pick<DeadlineFacts, 'severity' | 'detectedAt' | 'resolvedAt'>,
  targets: SeverityTargets,
): Deadline {
  return {
    kind: 'resolution',
    due: targetTime(new Date(facts.detectedAt), targets[facts.severity].resolution).toISOString(),
    ...(facts.resolvedAt ? { metAt: facts.resolvedAt } : {}),
  };
}

/**
 * Deadlines missed at `now`: those that passed unmet, and those met only after they were due (a
 * target met late is missed all the same, though nobody may have looked while it passed).
 */
export function missed(all: readonly Deadline[], now: Date): Deadline[] {
  return all.filter((d) =>
    d.metAt ? Date.parse(d.metAt) > Date.parse(d.due) : Date.parse(d.due) <= now.getTime(),
  );
}

/**
 * How long a wait for people may last before Casebook looks at the deadlines again: until the
 * next unmet deadline, at least `floorSeconds` (a missed deadline is escalated once, then waited
 * on again) and at most `ceilingSeconds` (no wait is ever left unchecked for long).
 */
export function secondsUntilNextCheck(
  all: readonly Pick<Deadline, 'due' | 'metAt'>[],
  now: Date,
  floorSeconds = 60,
  ceilingSeconds = 3_600,
): number {
  const upcoming = all
    .filter((d) => !d.metAt && Date.parse(d.due) > now.getTime())
    .map((d) => Math.ceil((Date.parse(d.due) - now.getTime()) / 1000));
  const next = upcoming.length > 0 ? Math.min(...upcoming) : ceilingSeconds;
  return Math.max(floorSeconds, Math.min(ceilingSeconds, next));
}

/** What an incident puts at risk (seed 000's asset axis). */
export const IMPACT_ASSETS = ['money', 'pii', 'legal', 'operational_integrity'] as const;

export const IMPACT_SIZES = ['small', 'medium', 'large'] as const;

/** How far an incident reaches, on seed 000's axes. */
export interface Impact {
  readonly users: number;
  readonly transactions: number;
  readonly assets: readonly (typeof IMPACT_ASSETS)[number][];
  readonly from: string;
  readonly to?: string;
  readonly summary: string;
}

export type ImpactSize = (typeof IMPACT_SIZES)[number];

/**
 * Seed 001 §3.3: one user and a small mistaken charge is small (support-led); hundreds of
 * invoices mis-sent is medium (Business + SRE); a potential leak of confidential data is large
 * (Legal + leadership). As rules, first match wins.
 */
export const SIZE_RULES: readonly {
  readonly size: ImpactSize;
  readonly when: string;
  readonly test: (i: Impact) => boolean;
}[] = [
  {
    size: 'large',
    when: 'personal data or legal exposure is involved',
    test: (i) => i.assets.includes('pii') || i.assets.includes('legal'),
  },
  {
    size: 'large',
    when: 'more than 1,000 users or transactions',
    test: (i) => i.users > 1_000 || i.transactions > 1_000,
  },
  {
    size: 'medium',
    when: 'more than 10 users or transactions',
    test: (i) => i.users > 10 || i.transactions > 10,
  },
  {
    size: 'small',
    when: 'at most 10 users and transactions, no personal data, no legal exposure',
    test: () => true,
  },
];

export function impactSize(impact: Impact): { readonly size: ImpactSize; readonly because: string } {
  const rule = SIZE_RULES.find((r) => r.test(impact)) as (typeof SIZE_RULES)[number];
  return { size: rule.size, because: rule.when };
}
