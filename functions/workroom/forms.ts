/**
 * The workroom's HTML forms, read into the JSON each action takes, so a form and a script post the
 * same contract and meet the same checks (`WORK_ACTIONS` in `functions/domain/workroom.ts`).
 * Nothing here validates: a field that does not fit its action's schema is named there, as for
 * JSON.
 */
import type { WorkAction } from '../domain/workroom.ts';

/** How many rows the contain and plan forms offer (a script may send any number). */
export const FORM_ROWS = { containActions: 3, planRules: 4 } as const;

/** The forms that post a list as numbered rows: the list's field, and the control a row starts with. */
const ROWED: Partial<Record<WorkAction, { readonly list: string; readonly first: string }>> = {
  contain: { list: 'actions', first: 'description' },
  plan: { list: 'apply', first: 'kind' },
};

/**
 * The control of `action`'s form that a field of its JSON comes from (`apply[1].amount` is
 * `amount_2`), so the page can name what is wrong as the form labels it; `detail` keeps what the
 * control alone does not say (the line of a CSV file, the item of a list).
 */
export function controlOf(action: WorkAction, field: string): { name: string; detail?: string } {
  if (action === 'customers') return { name: 'file', detail: field };
  const rowed = ROWED[action];
  // A check over the whole body (`(body)`): no rule, no action — the first row is where to start.
  if (rowed && field === '(body)') return { name: `${rowed.first}_1` };
  const [, head = field, index, rest] = /^(\w+)(?:\[(\d+)\])?(?:\.(\w+))?/.exec(field) ?? [];
  if (rowed && head === rowed.list) {
    return { name: `${rest ?? rowed.first}_${Number(index ?? 0) + 1}` };
  }
  if (head === 'notice') return { name: `notice_${rest ?? 'body'}` };
  if (head === 'lessons') {
    const part = rest ?? 'technical';
    return { name: `lessons${part[0]?.toUpperCase()}${part.slice(1)}` };
  }
  return head === field ? { name: head } : { name: head, detail: field };
}

type Fields = URLSearchParams;

const text = (f: Fields, name: string) => f.get(name) ?? '';
/** A whole number as a number; anything else as typed, so the schema names it. */
const whole = (f: Fields, name: string) => {
  const v = text(f, name).trim();
  return /^\d{1,15}$/.test(v) ? Number(v) : v;
};
/** Times are typed in UTC as `2026-12-06 10:23` (or with a `T`, seconds, a `Z`); the form says they are UTC. */
const utc = (f: Fields, name: string) => {
  const v = text(f, name)
    .trim()
    .replace(/^(\d{4}-\d\d-\d\d) +/, '$1T');
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d$/.test(v)) return `${v}:00Z`;
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(v)) return `${v}Z`;
  return v;
};
/** One item per non-empty line of a textarea. */
const lines = (f: Fields, name: string) =>
  text(f, name)
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
const optional = (value: string) => (value.trim() === '' ? undefined : value);
const rows = (count: number) => Array.from({ length: count }, (_, i) => i + 1);

/** The JSON body a form of `action` stands for. */
export const FROM_FORM: { readonly [A in Exclude<WorkAction, 'customers'>]: (f: Fields) => unknown } = {
  acknowledge: () => ({}),
  contain: (f) => ({
    actions: rows(FORM_ROWS.containActions)
      .filter((i) => text(f, `description_${i}`).trim() !== '')
      .map((i) => ({
        description: text(f, `description_${i}`),
        safety: text(f, `safety_${i}`),
        world: text(f, `world_${i}`),
      })),
    contained: text(f, 'contained') === 'yes',
  }),
  impact: (f) => ({
    users: whole(f, 'users'),
    transactions: whole(f, 'transactions'),
    assets: f.getAll('assets'),
    from: utc(f, 'from'),
    ...(optional(text(f, 'to')) ? { to: utc(f, 'to') } : {}),
    summary: text(f, 'summary'),
  }),
  plan: (f) => ({
    summary: text(f, 'summary'),
    // A rule row counts once anything is typed or chosen in it (the line always has a value), so a
    // rule with an amount but no kind is named as wrong rather than dropped.
    apply: rows(FORM_ROWS.planRules)
      .filter((i) =>
        ['kind', 'amount', 'currency', 'template'].some((n) => text(f, `${n}_${i}`).trim() !== ''),
      )
      .map((i) => {
        const amount = optional(text(f, `amount_${i}`).trim());
        const currency = optional(text(f, `currency_${i}`).trim().toUpperCase());
        const template = optional(text(f, `template_${i}`));
        return {
          kind: text(f, `kind_${i}`),
          ...(amount ? { amount } : {}),
          ...(currency ? { currency } : {}),
          obligation: text(f, `obligation_${i}`),
          ...(template ? { template } : {}),
        };
      }),
    effects: [],
    // The notices' own words; both left empty, a notice sends its template's built-in words.
    ...(text(f, 'notice_subject').trim() || text(f, 'notice_body').trim()
      ? { notice: { subject: text(f, 'notice_subject'), body: text(f, 'notice_body') } }
      : {}),
  }),
  'submit-plan': (f) => (optional(text(f, 'reply')) ? { reply: text(f, 'reply') } : {}),
  severity: (f) => ({ severity: text(f, 'severity'), reason: text(f, 'reason') }),
  size: (f) => ({ size: text(f, 'size'), reason: text(f, 'reason') }),
  regulator: (f) => ({ reference: text(f, 'reference'), notifiedAt: utc(f, 'notifiedAt') }),
  cancel: (f) => ({ reason: text(f, 'reason'), outcome: text(f, 'outcome'), world: text(f, 'world') }),
  note: (f) => ({ text: text(f, 'text') }),
  handoff: (f) => ({ to: text(f, 'to').trim() }),
  time: (f) => ({ role: text(f, 'role'), minutes: whole(f, 'minutes'), note: text(f, 'note') }),
  'reissue-link': (f) => ({ person: text(f, 'person').trim(), reason: text(f, 'reason') }),
  'revoke-link': (f) => ({ person: text(f, 'person').trim(), reason: text(f, 'reason') }),
  postmortem: (f) => ({
    title: text(f, 'title'),
    summary: text(f, 'summary'),
    rootCause: text(f, 'rootCause'),
    contributingFactors: lines(f, 'contributingFactors'),
    whatWentWell: lines(f, 'whatWentWell'),
    lessons: {
      technical: lines(f, 'lessonsTechnical'),
      process: lines(f, 'lessonsProcess'),
      governance: lines(f, 'lessonsGovernance'),
    },
    // One per line: `item | owner | 2026-12-15`.
    actionItems: lines(f, 'actionItems').map((line) => {
      const [item = '', owner = '', due = ''] = line.split('|').map((p) => p.trim());
      return { item, owner, due };
    }),
  }),
};
