/**
 * The classification policy (seed 001 §3.2, §4) as data: which labels carry the world, the
 * severity and the default-to-RML3 categories, which words name each severity, ordered rules of
 * label matchers that set the world, severity, categories, assets and product area for the alerts
 * they match, and per source a mapping of the source's service names to ours (PagerDuty names a
 * service by its id, Casebook by the name responders use).
 *
 * Configuration parses it once (`functions/adapters/config.ts`, `lib/settings.ts`); with nothing
 * configured it decides exactly as triage always has, and every decision names the rule that made it.
 */
import canonicalize from 'canonicalize';
import { z } from 'zod';
import type { NormalizedAlert } from './alert.ts';
import { sha256Hex } from './json.ts';
import { CATEGORY_LABEL } from './labels.ts';
import { LIMITS } from './limits.ts';
import { utf8Bytes } from './text.ts';
import type { Rml3Category, Severity, World } from './vocabulary.ts';
import { RML3_CATEGORIES, SEVERITIES, WORLDS } from './vocabulary.ts';

/** `team="payments"`, `severity=~"crit.*"`, `env!="dev"`, `tier!~"batch|test"`, as Alertmanager writes them. */
export interface Matcher {
  readonly name: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
}

/** A configured rule: the first whose matchers all match an alert sets what it names. */
export interface PolicyRule {
  readonly name: string;
  /** Only alerts from this source, when set. */
  readonly source?: string;
  readonly match: readonly Matcher[];
  readonly world?: World;
  readonly severity?: Severity;
  readonly categories: readonly Rml3Category[];
  readonly assets: readonly string[];
  readonly productArea?: string;
}

export interface AlertPolicy {
  /** The labels read for each, in order: the first one an alert carries is the one that counts. */
  readonly labels: {
    readonly world: readonly string[];
    readonly severity: readonly string[];
    readonly categories: readonly string[];
  };
  /** Lower-case words naming each severity; `sev1`…`sev4` (and `sev-1`…) always name theirs. */
  readonly severityWords: ReadonlyMap<string, Severity>;
  /** What an alert naming no known severity is treated as, so that it errs on the serious side. */
  readonly defaultSeverity: Severity;
  readonly rules: readonly PolicyRule[];
  /** Per source, the source's service name (or id) → ours. */
  readonly services: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Names this exact policy on the timeline: the start of the SHA-256 of its canonical JSON. */
  readonly version: string;
}

/** The rules triage has always had, by the names the timeline gives them when one decides. */
export const BUILT_IN_RULES = ['default-to-rml3-category', 'world-label', 'gray-case'] as const;

/** Today's triage, as data. */
export const DEFAULT_POLICY_INPUT = {
  labels: {
    world: ['world', 'rml_world'],
    severity: ['severity', 'priority'],
    categories: ['category', 'rml3_category'],
  },
  severities: {
    SEV1: ['critical', 'crit', 'page', 'p1', 'emergency', 'fatal'],
    SEV2: ['high', 'error', 'major', 'p2'],
    SEV3: ['warning', 'warn', 'medium', 'minor', 'p3'],
    SEV4: ['info', 'informational', 'low', 'none', 'p4'],
  },
  defaultSeverity: 'SEV2',
} as const satisfies AlertPolicyInput;

const MAX_RULES = 200;
const MAX_MATCHERS = 20;

const bounded = (maxBytes: number) =>
  z
    .string({ error: 'must be a string' })
    .min(1, 'must not be empty')
    .refine(
      (v) => v.isWellFormed() && utf8Bytes(v) <= maxBytes,
      `must be at most ${maxBytes} bytes of UTF-8`,
    );
const labelName = z
  .string({ error: 'must be a string' })
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be a label name ([A-Za-z_][A-Za-z0-9_]*)');
const labelList = z
  .array(labelName)
  .min(1, 'must name at least one label')
  .max(10, 'must name at most 10 labels');
const severity = z.enum(SEVERITIES, { error: `must be one of ${SEVERITIES.join(', ')}` });
const world = z.enum(WORLDS, { error: `must be one of ${WORLDS.join(', ')}` });
const category = z.enum(RML3_CATEGORIES, { error: `must be one of ${RML3_CATEGORIES.join(', ')}` });

const MATCHER = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^"]*?))\s*$/;

/** Parses one matcher, or says why it is not one. */
export function parseMatcher(text: string): Matcher | { readonly problem: string } {
  const m = MATCHER.exec(text);
  if (!m) return { problem: `is not a matcher (name="value", name!="value", name=~"regex", name!~"regex")` };
  const value = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : (m[4] ?? '');
  const matcher = { name: m[1] as string, op: m[2] as Matcher['op'], value };
  if (matcher.op === '=~' || matcher.op === '!~') {
    try {
      new RegExp(`^(?:${value})$`, 'u');
    } catch (error) {
      return { problem: `has a regex that does not compile: ${(error as Error).message}` };
    }
  }
  return matcher;
}

const matcher = z
  .string({ error: 'must be a string' })
  .max(1024, 'must be at most 1024 characters')
  .transform((text, ctx) => {
    const parsed = parseMatcher(text);
    if ('problem' in parsed) {
      ctx.addIssue({ code: 'custom', message: parsed.problem });
      return z.NEVER;
    }
    return parsed;
  });

const ruleSchema = z
  .object({
    name: z
      .string({ error: 'is required' })
      .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be 1–64 characters of a-z, 0-9, ".", "_" and "-"')
      .refine((n) => !(BUILT_IN_RULES as readonly string[]).includes(n), 'is the name of a built-in rule'),
    source: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be a source name (alertmanager, pagerduty, …)')
      .optional(),
    match: z.array(matcher).max(MAX_MATCHERS, `must hold at most ${MAX_MATCHERS} matchers`),
    world: world.optional(),
    severity: severity.optional(),
    categories: z.array(category).optional(),
    assets: z
      .array(bounded(LIMITS.labelValueBytes))
      .max(LIMITS.labels, `must name at most ${LIMITS.labels} assets`)
      .optional(),
    productArea: bounded(LIMITS.labelValueBytes).optional(),
  })
  .strict()
  .refine((r) => r.match.length > 0 || r.source !== undefined, {
    message:
      'must name a source or at least one matcher (a rule for every alert belongs in labels and severities)',
    path: ['match'],
  })
  .refine(
    (r) =>
      r.world !== undefined ||
      r.severity !== undefined ||
      (r.categories?.length ?? 0) > 0 ||
      (r.assets?.length ?? 0) > 0 ||
      r.productArea !== undefined,
    { message: 'must set at least one of world, severity, categories, assets, productArea' },
  );

/**
 * The policy as configured (`CASEBOOK_ALERT_POLICY`, CDK context `casebook:alertPolicy`); every
 * part may be left out and keeps today's triage.
 */
export const alertPolicySchema = z
  .object({
    labels: z
      .object({
        world: labelList.optional(),
        severity: labelList.optional(),
        categories: labelList.optional(),
      })
      .strict()
      .optional(),
    severities: z
      .object(
        Object.fromEntries(
          SEVERITIES.map((s) => [
            s,
            z
              .array(
                z
                  .string({ error: 'must be a string' })
                  .regex(/^[a-z0-9_.-]{1,32}$/, 'must be a lower-case word (a-z, 0-9, "_", "-", ".")'),
              )
              .max(50, 'must hold at most 50 words')
              .optional(),
          ]),
        ) as { [S in Severity]: z.ZodOptional<z.ZodArray<z.ZodString>> },
      )
      .strict()
      .optional(),
    defaultSeverity: severity.optional(),
    rules: z.array(ruleSchema).max(MAX_RULES, `must hold at most ${MAX_RULES} rules`).optional(),
    services: z
      .record(
        z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be a source name (pagerduty, grafana, …)'),
        z.record(bounded(LIMITS.labelValueBytes), bounded(LIMITS.labelValueBytes)),
      )
      .optional(),
  })
  .strict();

/**
 * What the schema cannot see one part at a time: a word two severities name, a rule name given
 * twice. Read from the raw input, so these show beside the schema's problems, not after them.
 */
function crossProblems(raw: unknown): string[] {
  const problems: string[] = [];
  const given = (raw ?? {}) as { severities?: Record<string, unknown>; rules?: unknown };
  const seen = new Map<string, Severity>();
  for (const s of SEVERITIES) {
    const listed = given.severities?.[s];
    const words = Array.isArray(listed) ? listed : DEFAULT_POLICY_INPUT.severities[s];
    for (const word of words) {
      if (typeof word !== 'string') continue;
      const other = seen.get(word);
      if (other && other !== s) problems.push(`severities.${s} names "${word}", which ${other} names too`);
      seen.set(word, s);
    }
  }
  const names = new Set<string>();
  (Array.isArray(given.rules) ? given.rules : []).forEach((r: unknown, i) => {
    const name = (r as { name?: unknown } | null)?.name;
    if (typeof name !== 'string') return;
    if (names.has(name)) problems.push(`rules.${i}.name names ${name} twice`);
    names.add(name);
  });
  return problems;
}

export type AlertPolicyInput = z.input<typeof alertPolicySchema>;

export type AlertPolicyResult =
  | { readonly ok: true; readonly policy: AlertPolicy }
  | { readonly ok: false; readonly problems: readonly string[] };

/** Parses a configured policy (`undefined`: none configured, today's triage), listing every problem at once. */
export function parseAlertPolicy(raw: unknown): AlertPolicyResult {
  const parsed = alertPolicySchema.safeParse(raw ?? {});
  const problems = [
    ...(parsed.success
      ? []
      : parsed.error.issues.map((i) => {
          // A bad record key says only that it is bad; what was wrong with it is inside.
          const message = i.code === 'invalid_key' ? (i.issues[0]?.message ?? i.message) : i.message;
          return `${i.path.map(String).join('.') || '(policy)'} ${message}`;
        })),
    ...crossProblems(raw),
  ];
  if (!parsed.success || problems.length > 0) return { ok: false, problems };
  const p = parsed.data;
  const labels = {
    world: p.labels?.world ?? [...DEFAULT_POLICY_INPUT.labels.world],
    severity: p.labels?.severity ?? [...DEFAULT_POLICY_INPUT.labels.severity],
    categories: p.labels?.categories ?? [...DEFAULT_POLICY_INPUT.labels.categories],
  };
  const severities = Object.fromEntries(
    SEVERITIES.map((s) => [s, [...(p.severities?.[s] ?? DEFAULT_POLICY_INPUT.severities[s])]]),
  ) as Record<Severity, string[]>;
  const defaultSeverity = p.defaultSeverity ?? DEFAULT_POLICY_INPUT.defaultSeverity;
  const rules: PolicyRule[] = (p.rules ?? []).map((r) => ({
    name: r.name,
    ...(r.source ? { source: r.source } : {}),
    match: r.match,
    ...(r.world ? { world: r.world } : {}),
    ...(r.severity ? { severity: r.severity } : {}),
    categories: RML3_CATEGORIES.filter((c) => r.categories?.includes(c)),
    assets: [...new Set(r.assets ?? [])],
    ...(r.productArea ? { productArea: r.productArea } : {}),
  }));
  const services = p.services ?? {};
  const body = { labels, severities, defaultSeverity, rules, services };
  return {
    ok: true,
    policy: {
      labels,
      severityWords: new Map(SEVERITIES.flatMap((s) => severities[s].map((w) => [w, s] as const))),
      defaultSeverity,
      rules,
      services: new Map(
        Object.entries(services).map(([source, map]) => [source, new Map(Object.entries(map))]),
      ),
      version: sha256Hex(canonicalize(body) ?? '').slice(0, 16),
    },
  };
}

/** Today's triage: the policy when none is configured. */
export const DEFAULT_ALERT_POLICY: AlertPolicy = (() => {
  const result = parseAlertPolicy(undefined);
  if (!result.ok) throw new Error(`The default alert policy is invalid: ${result.problems.join('; ')}`);
  return result.policy;
})();

/** The outcome of triage: is this a History World incident, how heavy, and which rule said so. */
export interface PolicyClassification {
  readonly world: World;
  readonly categories: readonly Rml3Category[];
  readonly severity: Severity;
  readonly isIncident: boolean;
  /** Why, in a sentence, for the timeline and the decision record. */
  readonly reason: string;
  /** The rule that decided the world: a configured rule's name, or one of {@link BUILT_IN_RULES}. */
  readonly rule: string;
  /** The configured rule that matched, when one did (it may have set only severity or assets). */
  readonly matchedRule?: string;
  /** Our name for the service in trouble: the source's, through the policy's mapping for that source. */
  readonly service?: string;
  readonly assets: readonly string[];
  readonly productArea?: string;
  readonly policyVersion: string;
}

/** The first of `names` an alert carries: an empty value counts, so it hides the names after it. */
function firstLabel(labels: Readonly<Record<string, string>>, names: readonly string[]): string | undefined {
  for (const name of names) if (Object.hasOwn(labels, name)) return labels[name];
  return undefined;
}

/** Reads the severity labels; a missing or unknown one is the default, which errs on the serious side. */
export function severityWithPolicy(
  policy: AlertPolicy,
  labels: Readonly<Record<string, string>>,
): { severity: Severity; fromLabel: boolean } {
  const raw = (firstLabel(labels, policy.labels.severity) ?? '').trim().toLowerCase();
  const sev = /^sev-?([1-4])$/.exec(raw);
  if (sev) return { severity: `SEV${sev[1]}` as Severity, fromLabel: true };
  const named = policy.severityWords.get(raw);
  return named
    ? { severity: named, fromLabel: true }
    : { severity: policy.defaultSeverity, fromLabel: false };
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

/** The alert's own fields a matcher names before any label of that name. */
const FIELDS = ['service', 'environment', 'tenant', 'region'] as const;

/** Each matcher's regex, compiled once: a policy lives as long as the function that parsed it. */
const compiled = new WeakMap<Matcher, RegExp>();
function anchored(m: Matcher): RegExp {
  let re = compiled.get(m);
  if (!re) {
    re = new RegExp(`^(?:${m.value})$`, 'u');
    compiled.set(m, re);
  }
  return re;
}

function matches(m: Matcher, value: string): boolean {
  switch (m.op) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return anchored(m).test(value);
    case '!~':
      return !anchored(m).test(value);
  }
}

/** What an alert looks like to the policy: its source, labels, and where the trouble is. */
export type PolicyInput = Pick<NormalizedAlert, 'source' | 'labels'> &
  Partial<Pick<NormalizedAlert, (typeof FIELDS)[number] | 'productArea'>>;

/**
 * Triage (seed 001 §3.2, §4.1): a default-to-RML3 category makes it RML3 whatever else is said;
 * an explicit RML1/RML2 world keeps it out of the History World; anything else is a gray case,
 * treated as RML3 until someone downscopes it (a logged decision). The first configured rule whose
 * matchers all match supplies the world, severity and categories it sets before the labels do; its
 * categories join the labels' (a rule cannot talk a default-to-RML3 category out of RML3).
 */
export function classifyWithPolicy(policy: AlertPolicy, alert: PolicyInput): PolicyClassification {
  const mapped =
    alert.service === undefined ? undefined : policy.services.get(alert.source)?.get(alert.service);
  const service = mapped ?? alert.service;
  const fields: Partial<Record<string, string>> = {
    service,
    environment: alert.environment,
    tenant: alert.tenant,
    region: alert.region,
  };
  // Where the trouble is reads from the alert's own fields first, so a rule sees our service name
  // whatever the source called it; a label the alert lacks reads as empty, as in Alertmanager.
  const labelValue = (name: string) =>
    ((FIELDS as readonly string[]).includes(name) ? fields[name] : undefined) ??
    (Object.hasOwn(alert.labels, name) ? (alert.labels[name] as string) : '');
  const rule = policy.rules.find(
    (r) =>
      (r.source === undefined || r.source === alert.source) &&
      r.match.every((m) => matches(m, labelValue(m.name))),
  );

  const fromLabels = severityWithPolicy(policy, alert.labels);
  const severity = rule?.severity ?? fromLabels.severity;
  const sevNote =
    rule?.severity || fromLabels.fromLabel
      ? ''
      : ` Severity defaulted to ${severity}: no recognised severity given.`;
  const labelled = categoriesFromLabel(firstLabel(alert.labels, policy.labels.categories));
  const categories = RML3_CATEGORIES.filter((c) => labelled.includes(c) || rule?.categories.includes(c));
  const labelledWorld = rule?.world ?? worldFromLabel(firstLabel(alert.labels, policy.labels.world));
  const productArea = rule?.productArea ?? alert.productArea;
  const common = {
    categories,
    severity,
    ...(rule ? { matchedRule: rule.name } : {}),
    ...(service !== undefined ? { service } : {}),
    assets: rule?.assets ?? [],
    ...(productArea !== undefined ? { productArea } : {}),
    policyVersion: policy.version,
  };
  // The rule's own name where what it set decided; a built-in rule's where the labels did.
  const by = (builtIn: (typeof BUILT_IN_RULES)[number], fromRule: boolean) =>
    fromRule && rule
      ? { rule: rule.name, note: ` Decided by policy rule ${rule.name}.` }
      : { rule: builtIn, note: '' };
  if (categories.length > 0) {
    const d = by('default-to-rml3-category', labelled.length === 0);
    return {
      ...common,
      world: 'RML3',
      isIncident: true,
      rule: d.rule,
      // The reason is read on the timeline: the categories by their labels, not their stored values.
      reason: `Default-to-RML3 category: ${categories.map((c) => CATEGORY_LABEL[c]).join(', ')}.${sevNote}${d.note}`,
    };
  }
  if (labelledWorld) {
    const d = by('world-label', rule?.world !== undefined);
    const what = d.note ? `World ${labelledWorld}` : `Labelled world=${labelledWorld}`;
    return labelledWorld === 'RML3'
      ? { ...common, world: 'RML3', isIncident: true, rule: d.rule, reason: `${what}.${sevNote}${d.note}` }
      : {
          ...common,
          world: labelledWorld,
          isIncident: false,
          rule: d.rule,
          reason: `${what} with no default-to-RML3 category: not a History World incident.${d.note}`,
        };
  }
  return {
    ...common,
    world: 'RML3',
    isIncident: true,
    rule: 'gray-case',
    reason: `Gray case (no world label): treated as RML3 until downscoped.${sevNote}`,
  };
}
