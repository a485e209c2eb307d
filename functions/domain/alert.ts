/**
 * An alert as Casebook understands it, whatever tool sent it, and the rules that decide whether
 * it is a History World incident (seed 001 §3.2, §4) and how severe it is (seed 003).
 */
import { isEmailAddress } from './email-address.ts';
import type { Rml3Category, Severity, World } from './vocabulary.ts';
import { RML3_CATEGORIES } from './vocabulary.ts';

/** One alert instance inside a notification. */
export interface AlertInstance {
  readonly fingerprint: string;
  readonly status: 'firing' | 'resolved';
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt?: string;
  readonly generatorUrl?: string;
}

/** A notification from an alert source, normalized. */
export interface NormalizedAlert {
  readonly source: string;
  /** Stable across redeliveries and repeats of the same alert group: correlates into one incident. */
  readonly correlationKey: string;
  /** Identifies this notification's content, so an exact redelivery records nothing new. */
  readonly deliveryKey: string;
  /**
   * The alert occurrences it reports (`fingerprint@startsAt`): a repeat notification about
   * occurrences an incident already holds folds into it even after it closed.
   */
  readonly occurrences: readonly string[];
  readonly status: 'firing' | 'resolved';
  readonly title: string;
  readonly description?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly alerts: readonly AlertInstance[];
  readonly externalUrl?: string;
  /** Earliest `startsAt` among the alerts: when the trouble began, as far as the source knows. */
  readonly startedAt: string;
  /** Customer contacts the source names (annotation `customer_contacts`), to be notified if the plan says so. */
  readonly customerContacts: readonly string[];
  /** Customer-safe wording of what happened (annotation `customer_summary`), used in notices. */
  readonly customerSummary?: string;
  readonly productArea?: string;
}

/** The outcome of triage: is this a History World incident, and how heavy. */
export interface Classification {
  readonly world: World;
  readonly categories: readonly Rml3Category[];
  readonly severity: Severity;
  readonly isIncident: boolean;
  /** Why, in a sentence, for the timeline and the decision record. */
  readonly reason: string;
}

const SEVERITY_WORDS: ReadonlyArray<[RegExp, Severity]> = [
  [/^(critical|crit|page|p1|emergency|fatal)$/, 'SEV1'],
  [/^(high|error|major|p2)$/, 'SEV2'],
  [/^(warning|warn|medium|minor|p3)$/, 'SEV3'],
  [/^(info|informational|low|none|p4)$/, 'SEV4'],
];

/** Reads `severity` (or `priority`) labels; a missing or unknown one errs on the serious side. */
export function severityFromLabels(labels: Readonly<Record<string, string>>): {
  severity: Severity;
  fromLabel: boolean;
} {
  const raw = (labels.severity ?? labels.priority ?? '').trim().toLowerCase();
  const sev = /^sev-?([1-4])$/.exec(raw);
  if (sev) return { severity: `SEV${sev[1]}` as Severity, fromLabel: true };
  for (const [pattern, severity] of SEVERITY_WORDS) {
    if (pattern.test(raw)) return { severity, fromLabel: true };
  }
  return { severity: 'SEV2', fromLabel: false };
}

function worldFromLabel(raw: string | undefined): World | undefined {
  const m = /^rml-?([123])$/.exec((raw ?? '').trim().toLowerCase());
  return m ? (`RML${m[1]}` as World) : undefined;
}

function categoriesFromLabel(raw: string | undefined): Rml3Category[] {
  const words = (raw ?? '')
    .toLowerCase()
    .split(/[\s,;|]+/)
    .map((w) => w.replaceAll('-', '_'))
    .filter(Boolean);
  return RML3_CATEGORIES.filter((c) => words.includes(c));
}

/**
 * Triage (seed 001 §3.2, §4.1): a default-to-RML3 category makes it RML3 whatever else is said;
 * an explicit RML1/RML2 `world` label keeps it out of the History World; anything unlabelled is a
 * gray case and is treated as RML3 until someone downscopes it (a logged decision).
 */
export function classify(labels: Readonly<Record<string, string>>): Classification {
  const { severity, fromLabel } = severityFromLabels(labels);
  const sevNote = fromLabel ? '' : ' Severity defaulted to SEV2: no recognised severity label.';
  const categories = categoriesFromLabel(labels.category ?? labels.rml3_category);
  const labelled = worldFromLabel(labels.world ?? labels.rml_world);
  if (categories.length > 0) {
    return {
      world: 'RML3',
      categories,
      severity,
      isIncident: true,
      reason: `Default-to-RML3 category: ${categories.join(', ')}.${sevNote}`,
    };
  }
  if (labelled === 'RML3') {
    return {
      world: 'RML3',
      categories,
      severity,
      isIncident: true,
      reason: `Labelled world=RML3.${sevNote}`,
    };
  }
  if (labelled) {
    return {
      world: labelled,
      categories,
      severity,
      isIncident: false,
      reason: `Labelled world=${labelled} with no default-to-RML3 category: not a History World incident.`,
    };
  }
  return {
    world: 'RML3',
    categories,
    severity,
    isIncident: true,
    reason: `Gray case (no world label): treated as RML3 until downscoped.${sevNote}`,
  };
}

/** Splits a comma/semicolon/space separated list of addresses; returns the ones that are not addresses too. */
export function parseAddressList(raw: string | undefined): { addresses: string[]; invalid: string[] } {
  const parts = (raw ?? '')
    .split(/[\s,;]+/)
    .map((p) => p.trim())
    .filter(Boolean);
  const addresses = [...new Set(parts.filter(isEmailAddress).map((a) => a.toLowerCase()))];
  return { addresses, invalid: parts.filter((p) => !isEmailAddress(p)) };
}
