/**
 * fast-check generators of hostile and broken requests for every route in functions/routes.ts,
 * as small recipes (a 900 KB body is `{ repeat: 'x', times: 900000 }`, so a shrunk counterexample
 * stays readable) that {@link build} turns into bytes on the wire.
 *
 * Every request that could write is built to be refused: a webhook POST with the right token
 * always carries at least one "breaker" that makes the payload invalid on its own, a manual ledger
 * entry and a declaration too, an approval POST to a real link always carries an invalid form, and
 * a workroom action an invalid body or customer list. So for every generated request, any 2xx on
 * a POST — and any write at all — is a failure (but for acknowledging an incident already
 * acknowledged: a form has no field to break, and the answer is a no-op).
 */
import fc from 'fast-check';
import { ALL_INCIDENTS } from '../../functions/adapters/operations-keys.ts';
import { LIMITS } from '../../functions/domain/limits.ts';
import { WORK_ACTIONS } from '../../functions/domain/workroom.ts';
import type { Route } from '../../functions/routes.ts';
import { ROUTES } from '../../functions/routes.ts';

/** Text that may be large: a literal, or one string repeated. */
export type Text = string | { readonly repeat: string; readonly times: number };

export function expand(text: Text): string {
  return typeof text === 'string' ? text : text.repeat.repeat(text.times);
}

/** One change to the fixture payload: set (or, with `value` undefined, delete) what `at` names. */
export interface Mutation {
  readonly at: readonly (string | number)[];
  readonly value?: unknown;
}

export type BodyRecipe =
  | {
      readonly kind: 'alert';
      readonly noise: readonly Mutation[];
      readonly breakers: readonly Mutation[];
      readonly damage?: 'cut' | 'garbage';
      /** Pads the payload, in a member Casebook ignores, to about this many bytes. */
      readonly padTo?: number;
    }
  | {
      readonly kind: 'ledger' | 'declaration';
      readonly noise: readonly Mutation[];
      readonly breakers: readonly Mutation[];
    }
  | { readonly kind: 'work'; readonly action: string; readonly breakers: readonly Mutation[] }
  | { readonly kind: 'csv'; readonly lines: readonly string[] }
  | { readonly kind: 'form'; readonly fields: readonly (readonly [Text, Text])[] }
  | { readonly kind: 'text'; readonly text: Text }
  | { readonly kind: 'bytes'; readonly bytes: readonly number[] }
  | { readonly kind: 'nested'; readonly depth: number; readonly open: '[' | '{"a":' };

export interface RequestRecipe {
  /** Which route it aims at (for the report), or `none`. */
  readonly aim: string;
  readonly method: string;
  /** Already percent-encoded, as sent on the request line. */
  readonly path: string;
  readonly query: string;
  readonly headers: Readonly<Record<string, Text>>;
  readonly body?: BodyRecipe;
}

/** What the generators need from the running stack: real ids to aim near. */
export interface Targets {
  readonly token: string;
  readonly incidentIds: readonly string[];
  readonly approvalIds: readonly string[];
  /** Workroom link ids (a responder's and the SRE lead's) of the first incident. */
  readonly workLinkIds: readonly string[];
  /** Question ids (`/effects/{questionId}`) about a bounced notice whose customer has another address. */
  readonly questionIds: readonly string[];
  /** That customer's other address on the list: a resend to it would send, so no form carries it. */
  readonly otherAddress: string;
  /** A cursor GET /incidents returned. */
  readonly cursor: string;
  /** The Alertmanager payload that opened the first incident. */
  readonly fixture: Record<string, unknown>;
}

/**
 * Node's HTTP server (like API Gateway) refuses a request line and headers past 16 KB before any
 * handler sees them; these keep generated requests under that, so they reach the handlers.
 */
const MAX_SEGMENT_SENT = 4000;
const MAX_CURSOR_SENT = 4000;
const MAX_QUERY_SENT = 6000;

const PROTOTYPE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  '__defineGetter__',
  '__lookupSetter__',
] as const;

const BIDI = ['\u202E', '\u202B', '\u2066', '\u2067', '\u200F', '\u061C'] as const;

/** Strings people and programs send: plain, unicode, controls, bidi, lone surrogates, long. */
/** One character, possibly several bytes or a bidi control, repeated. */
function repeated(times: fc.Arbitrary<number>): fc.Arbitrary<Text> {
  return fc.record({ repeat: fc.constantFrom('x', 'é', '😀', '\u202E'), times });
}

const anyText: fc.Arbitrary<Text> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom(...PROTOTYPE_KEYS) },
  { weight: 1, arbitrary: fc.constantFrom(...BIDI).map((c) => `${c}desrever${c}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('\uD800', '\uDFFF x', '\u0000', '\r\nBcc: x@example.com', '%00', '..'),
  },
  { weight: 1, arbitrary: repeated(fc.integer({ min: 1, max: 5000 })) },
);

/**
 * Text for bodies: like {@link anyText}, now and then just past a field's bound, and rarely
 * hundreds of kilobytes (large bodies are slow to build and send; a few go a long way).
 */
const bodyText: fc.Arbitrary<Text> = fc.oneof(
  { weight: 16, arbitrary: anyText },
  {
    weight: 2,
    arbitrary: repeated(
      fc.constantFrom(LIMITS.titleBytes + 1, LIMITS.labelValueBytes + 1, LIMITS.annotationValueBytes + 1),
    ),
  },
  { weight: 1, arbitrary: repeated(fc.constant(200_000)) },
);

/** Any JSON-ish value, nested, with prototype keys in objects. */
const anyJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.oneof(fc.integer(), fc.double(), fc.constantFrom(-0, 1e308, 2 ** 53 + 1)),
    anyText.map(expand),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom(...PROTOTYPE_KEYS)), tie('value'), {
      maxKeys: 4,
    }),
  ),
})).value;

/** Changes that leave a valid payload valid: they exercise bounds, truncation and odd names. */
const noise: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    at: fc.tuple(
      fc.constantFrom('commonLabels', 'groupLabels', 'commonAnnotations'),
      fc.oneof(
        fc.string({ maxLength: 20 }),
        fc.constantFrom(
          ...PROTOTYPE_KEYS,
          'description',
          'summary',
          'alertname',
          'severity',
          'world',
          'category',
        ),
      ),
    ),
    value: bodyText.map(expand),
  }),
  fc.record({ at: fc.constant(['externalURL']), value: bodyText.map(expand) }),
  fc.record({
    at: fc.tuple(fc.constantFrom('unknown', '__proto__', 'constructor'), fc.constant('x')),
    value: anyJson,
  }),
  fc.record({ at: fc.constant(['alerts', 0, 'annotations', 'summary']), value: bodyText.map(expand) }),
);

/** Changes each of which makes the payload invalid by itself, whatever else changed. */
function breakers(): fc.Arbitrary<Mutation> {
  const tooMany = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
  return fc.oneof(
    fc.record({ at: fc.constant(['version']), value: fc.constantFrom('3', 4, null, '', '4 ', undefined) }),
    fc.record({
      at: fc.constantFrom(
        ['groupKey'],
        ['status'],
        ['receiver'],
        ['alerts'],
        ['alerts', 0, 'fingerprint'],
        ['alerts', 0, 'startsAt'],
      ),
      value: fc.constant(undefined),
    }),
    fc.record({
      at: fc.constant(['status']),
      value: fc.oneof(
        fc.constantFrom('FIRING', 'ok', 1, null),
        anyText.map(expand).filter((s) => s !== 'firing' && s !== 'resolved'),
      ),
    }),
    fc.record({ at: fc.constant(['alerts']), value: fc.constantFrom([], {}, 'alerts', null, [null], [[]]) }),
    fc.record({
      at: fc.constantFrom(['alerts', 0, 'startsAt'], ['alerts', 0, 'endsAt']),
      value: fc.constantFrom(
        '2026-02-30T10:00:00Z',
        '2026-13-01T00:00:00Z',
        '2026-01-01T24:00:00Z',
        '2026-01-01T00:00:60Z',
        '2026-01-01T00:00:00+24:00',
        'not-a-date',
        '2026-01-01',
        1767225600,
        '+002026-01-01T00:00:00Z',
      ),
    }),
    fc.record({
      at: fc.constant(['alerts', 0, 'fingerprint']),
      value: fc.oneof(
        fc.constantFrom('', 7, null),
        fc.integer({ min: LIMITS.fingerprintBytes + 1, max: 5000 }).map((n) => 'f'.repeat(n)),
      ),
    }),
    fc.record({
      at: fc.constantFrom(['commonLabels'], ['groupLabels'], ['commonAnnotations'], ['alerts', 0, 'labels']),
      value: fc.oneof(
        fc.constantFrom('labels', 7, [], null),
        fc.dictionary(
          fc.constantFrom('a', 'constructor', 'toString', 'severity'),
          fc.oneof(
            fc.integer(),
            fc.constant(null),
            anyJson.filter((v) => typeof v !== 'string'),
          ),
          { minKeys: 1, maxKeys: 3 },
        ),
      ),
    }),
    fc.record({
      at: fc.constant(['commonLabels']),
      value: fc.integer({ min: LIMITS.labels + 1, max: 400 }).map(tooMany),
    }),
    fc.record({
      at: fc.constant(['commonAnnotations']),
      value: fc.integer({ min: LIMITS.annotations + 1, max: 200 }).map(tooMany),
    }),
    fc.record({
      at: fc.tuple(
        fc.constantFrom('commonLabels', 'commonAnnotations'),
        fc.integer({ min: LIMITS.nameBytes + 1, max: 3000 }).map((n) => 'n'.repeat(n)),
      ),
      value: fc.constant('v'),
    }),
    fc.record({
      at: fc.constantFrom(
        ['commonAnnotations', 'customer_contacts'],
        ['alerts', 0, 'annotations', 'customer_contacts'],
      ),
      value: fc.constantFrom(
        'not-an-address',
        'a@b',
        `${'a'.repeat(250)}@example.com`,
        'ada@example.com, <script>',
        '\u202Eada@example.com',
      ),
    }),
    fc.record({ at: fc.constant(['truncatedAlerts']), value: fc.constantFrom(-1, 1.5, '0', null) }),
  );
}

function applyMutation(target: Record<string, unknown>, { at, value }: Mutation): void {
  let node: Record<string | number, unknown> = target;
  for (const key of at.slice(0, -1)) {
    // Own members only: following `__proto__` here would pollute Object.prototype in the test itself.
    const next = Object.hasOwn(node, key) ? node[key] : undefined;
    if (next === null || typeof next !== 'object') {
      const created: Record<string, unknown> = {};
      Object.defineProperty(node, key, {
        value: created,
        enumerable: true,
        writable: true,
        configurable: true,
      });
      node = created;
    } else node = next as Record<string | number, unknown>;
  }
  const last = at.at(-1) as string | number;
  // defineProperty, so a key named __proto__ becomes an own member, as JSON.parse makes it.
  if (value === undefined) delete node[last];
  else Object.defineProperty(node, last, { value, enumerable: true, writable: true, configurable: true });
}

const encode = (text: string) => encodeURIComponent(text.toWellFormed());

/** A path segment aimed at an id route: real ids, near misses, oversized and odd forms. */
function idSegment(real: readonly string[]): fc.Arbitrary<string> {
  const near = fc
    .constantFrom(...real)
    .chain((id) =>
      fc.oneof(
        fc.constant(encode(id)),
        fc.constant(encode(id.replace('.1.', '.01.'))),
        fc.constant(encode(id.replace(/-(\d{4})(?=\.|$)/, '-0$1'))),
        fc.constant(encode(`${id}A`)),
        fc.constant(encode(id.toLowerCase())),
        fc.constant(encode(id.slice(0, -1))),
        fc.constant(encode(`${id} `)),
        fc.constant(id.replaceAll('.', '%2E')),
      ),
    );
  return fc.oneof(
    // Real ids reach the tables and the pages; near misses must not.
    { weight: 2, arbitrary: fc.constantFrom(...real) },
    { weight: 3, arbitrary: near },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 2100 }).map((n) => `INC-2026-${'1'.repeat(n)}`) },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 1, max: 2100 }).map((n) => `INC-2026-0001.1.legal.${'A'.repeat(n)}`),
    },
    {
      weight: 2,
      arbitrary: anyText.map((t) => encode(expand(t)).slice(0, MAX_SEGMENT_SENT)).filter((s) => s.length > 0),
    },
    { weight: 1, arbitrary: fc.constantFrom(...PROTOTYPE_KEYS) },
    { weight: 1, arbitrary: fc.constantFrom('%E0%A4%A', '%', '%zz', '%00', '%2F', '..', '%2e%2e', 'a%2Fb') },
  );
}

function cursorValue(targets: Targets): fc.Arbitrary<string> {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const key = JSON.parse(Buffer.from(targets.cursor, 'base64url').toString('utf8')) as Record<string, string>;
  return fc
    .oneof(
      fc.constant(targets.cursor),
      fc.constantFrom('', '=', 'e30', targets.cursor.slice(1), `${targets.cursor}=`, `${targets.cursor}A`),
      fc
        .integer({ min: 0, max: 1000 })
        .map((n) =>
          b64({ gsi1pk: ALL_INCIDENTS, gsi1sk: 'x'.repeat(n), pk: 'x'.repeat(n), sk: 'x'.repeat(n) }),
        ),
      fc.constant(b64({ gsi1pk: '', gsi1sk: '', pk: '', sk: '' })),
      fc
        .record({
          field: fc.constantFrom('gsi1pk', 'gsi1sk', 'pk', 'sk', '__proto__', 'extra'),
          value: anyJson,
        })
        .map(({ field, value }) => {
          const copy: Record<string, unknown> = { ...key };
          Object.defineProperty(copy, field, { value, enumerable: true, configurable: true, writable: true });
          return b64(copy);
        }),
      anyJson.map(b64),
      anyText.map((t) => expand(t)),
    )
    .map((cursor) => cursor.slice(0, MAX_CURSOR_SENT));
}

/** What the console's sign-in reads from the query: return addresses on and off this site, and noise. */
const signInValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '/',
    '',
    '//evil.example/',
    '/\\evil.example',
    'https://evil.example/',
    '/%2F%2Fevil.example',
    '/console/incidents/INC-2026-0001?view=cost',
    `/${'a'.repeat(1024)}`,
    '/ x',
    'access_denied',
  ),
  anyText.map((t) => expand(t).slice(0, 2000)),
);

function queryString(targets: Targets): fc.Arbitrary<string> {
  const param = fc.oneof(
    fc.tuple(
      fc.constant('limit'),
      fc.oneof(
        fc.integer({ min: -5, max: 300 }).map(String),
        fc.constantFrom(
          '0x10',
          ' 5',
          '%205',
          '1e2',
          '+5',
          '05',
          '5.0',
          '５',
          '',
          'NaN',
          'Infinity',
          '9'.repeat(400),
          '1,2',
        ),
      ),
    ),
    fc.tuple(fc.constant('cursor'), cursorValue(targets)),
    fc.tuple(fc.constantFrom('returnTo', 'login_hint', 'code', 'state', 'error'), signInValue),
    fc.tuple(
      fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS), fc.string({ maxLength: 8 })),
      anyText.map((t) => expand(t).slice(0, 200)),
    ),
  );
  return fc.array(param, { maxLength: 4 }).map((pairs) =>
    pairs
      .map(([k, v]) => (v.startsWith('%') && k === 'limit' ? `${k}=${v}` : `${encode(k)}=${encode(v)}`))
      .join('&')
      .slice(0, MAX_QUERY_SENT),
  );
}

function headers(targets: Targets, form: boolean): fc.Arbitrary<Record<string, Text>> {
  const contentType = fc.constantFrom(
    form ? 'application/x-www-form-urlencoded' : 'application/json',
    'application/json; charset=utf-8',
    'application/x-www-form-urlencoded',
    'text/plain',
    'application/octet-stream',
    'multipart/form-data; boundary=x',
    'application/jsonp',
    'JSON',
    '',
  );
  const authorization = fc.oneof(
    { weight: 6, arbitrary: fc.constant(`Bearer ${targets.token}`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        `bearer ${targets.token}`,
        `Bearer  ${targets.token}`,
        `Bearer ${targets.token}x`,
        `Basic ${targets.token}`,
        'Bearer ',
        '',
      ),
    },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 3000 }).map((n) => ({ repeat: 'B', times: n })) },
  );
  return fc.record(
    {
      'content-type': contentType,
      authorization,
      'x-extra': anyText.map((t) =>
        expand(t)
          .replace(/[^\t\x20-\x7e]/g, '?')
          .slice(0, 1000),
      ),
      'content-encoding': fc.constantFrom('gzip', 'identity', 'br'),
      // Manual ledger entries need one; mostly a good one, so the body is what gets refused.
      'idempotency-key': fc.oneof(
        { weight: 6, arbitrary: fc.constant('fuzz-key-1') },
        { weight: 1, arbitrary: fc.constantFrom('', 'has space', 'k'.repeat(256), '\u00e9t\u00e9') },
      ),
      [PROTOTYPE_KEYS[5]]: fc.constant('x'),
    },
    { requiredKeys: ['content-type'] },
  );
}

function formRecipe(): fc.Arbitrary<BodyRecipe> {
  const field = (name: string, value: fc.Arbitrary<Text>) => value.map((v) => [name, v] as const);
  // Each invalidates the form on its own (the decision is none of the three, or the rest is wrong);
  // a name is no field of the form any more (the roster has it), so it cannot make one valid.
  const invalid = fc.oneof(
    fc.tuple(
      field(
        'decision',
        fc.constantFrom('', 'APPROVE', 'approve ', 'maybe', 'reject\u0000', 'request_changes'),
      ),
    ),
    fc.tuple(
      field('decision', fc.constantFrom('reject', 'request-changes')),
      field('name', fc.constant('Ada')),
      field('comment', fc.constantFrom('', '  ', '\t')),
    ),
    fc.tuple(
      field('decision', fc.constant('approve')),
      field('comment', fc.constant({ repeat: '😀', times: LIMITS.decisionCommentChars + 1 })),
    ),
    fc.tuple(
      field('decision', fc.constant('approve')),
      field('basis', fc.constant({ repeat: 'b', times: LIMITS.decisionBasisChars + 1 })),
    ),
  );
  const extra = fc.array(fc.tuple(fc.oneof(fc.constantFrom<Text>(...PROTOTYPE_KEYS), anyText), anyText), {
    maxLength: 3,
  });
  // The invalid fields come first: a form field counts once, and later duplicates cannot mend it.
  return fc.tuple(invalid, extra).map(([bad, more]) => ({ kind: 'form', fields: [...bad, ...more] }));
}

/**
 * Answers to a question about a bounced notice, each refused on its own: no answer the question
 * allows, a resend to an address not on the customer list (near misses of the one that is, header
 * injections, lists, oversized), done by hand without a usable reference, void without a basis, or
 * a note past its length. The customer's other address itself never appears: a resend to it sends.
 */
function questionFormRecipe(otherAddress: string): fc.Arbitrary<BodyRecipe> {
  const field = (name: string, value: fc.Arbitrary<Text>) => value.map((v) => [name, v] as const);
  const [local, domain] = otherAddress.split('@') as [string, string];
  const notOnTheList = fc.oneof(
    fc.constantFrom<Text>(
      '',
      ' ',
      'mallory@example.com',
      `${local}x@${domain}`,
      `${local}@${domain}.`,
      `${local}@${domain}x`,
      `${local}@@${domain}`,
      `${otherAddress}\r\nBcc: mallory@example.com`,
      `${otherAddress}\nBcc: mallory@example.com`,
      `${otherAddress},mallory@example.com`,
      `${otherAddress};mallory@example.com`,
      `"${otherAddress}"`,
      `<${otherAddress}>`,
      `Eve <${otherAddress}>`,
      `${otherAddress}\u0000`,
      `${otherAddress.replace('@', '\uFF20')}`,
      `${otherAddress}\u200B`,
      `\u202E${otherAddress}`,
      { repeat: 'a', times: 5000 },
      ...PROTOTYPE_KEYS,
    ),
    anyText.filter((t) => expand(t).trim().toLowerCase() !== otherAddress.toLowerCase()),
  );
  const invalid = fc.oneof(
    {
      weight: 1,
      arbitrary: fc.tuple(
        field(
          'answer',
          fc.constantFrom(
            '',
            'RESEND',
            'resend ',
            'sent',
            'not-sent',
            'retry',
            'check-again',
            'resend\u0000',
          ),
        ),
        field('address', fc.constant(otherAddress.toUpperCase())),
      ),
    },
    // The resend's own field, most of all: the one answer here that sends to a customer.
    {
      weight: 4,
      arbitrary: fc.tuple(field('answer', fc.constant('resend')), field('address', notOnTheList)),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(field('answer', fc.constant('resend')), field('note', fc.constant('it bounced'))),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(
        field('answer', fc.constant('done-by-hand')),
        field('reference', fc.constantFrom<Text>('', '  ', 'has space', { repeat: 'r', times: 201 })),
        field('note', fc.constant('phoned them')),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(
        field('answer', fc.constant('void')),
        field('note', fc.constantFrom('', '   ', '\t')),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(
        field('answer', fc.constant('void')),
        field('note', fc.constant({ repeat: 'n', times: 2001 })),
      ),
    },
  );
  const extra = fc.array(fc.tuple(fc.oneof(fc.constantFrom<Text>(...PROTOTYPE_KEYS), anyText), anyText), {
    maxLength: 3,
  });
  // The invalid fields come first: a form field counts once, and later duplicates cannot mend it.
  return fc.tuple(invalid, extra).map(([bad, more]) => ({ kind: 'form', fields: [...bad, ...more] }));
}

/** Date-times a body refuses: not on the calendar, not RFC 3339, or in the future. */
const badInstant = fc.constantFrom(
  '2026-02-30T10:00:00Z',
  '2026-01-01',
  'yesterday',
  1767225600,
  '2999-01-01T00:00:00Z',
  '9999-12-31T23:59:59-23:59',
  null,
);

/** A manual ledger entry (`POST /incidents/{id}/ledger`) that is valid as it stands. */
const LEDGER_ENTRY = {
  kind: 'legal_fee',
  actor: 'Fuzz Tester <fuzz@corp.example>',
  reason: 'Outside counsel, fuzzed.',
  evidence: 'https://invoices.corp.example/fuzz',
  amount: '12.50',
  currency: 'EUR',
  obligation: 'tos',
  productArea: 'payments',
  effectiveAt: '2026-01-01T00:00:00Z',
};

/**
 * Changes to a manual ledger entry, each of which makes it invalid by itself whatever the noise
 * did (the noise touches only fields no breaker depends on, and breakers apply last).
 */
function ledgerBreakers(): fc.Arbitrary<Mutation> {
  return fc.oneof(
    fc.record({
      at: fc.constant(['kind']),
      value: fc.constantFrom('', 'Legal_fee', 'notice', 'detection', 'approval', 'charge', 7, null, [
        'refund',
      ]),
    }),
    fc.record({
      at: fc.constantFrom(
        ['kind'],
        ['actor'],
        ['reason'],
        ['evidence'],
        ['obligation'],
        ['productArea'],
        ['effectiveAt'],
        ['amount'],
      ),
      value: fc.constant(undefined),
    }),
    fc.record({
      at: fc.constant(['evidence']),
      value: fc.constantFrom(
        'http://invoices.corp.example/1',
        'javascript:alert(1)',
        'https://',
        '//invoices.corp.example',
        'https://localhost/x',
        'https://crm.example/?q=ada%40example.com',
        `https://x.example/${'e'.repeat(3000)}`,
      ),
    }),
    fc.record({
      at: fc.constant(['amount']),
      value: fc.constantFrom(
        '12.345',
        '-5',
        '0',
        '1e3',
        '0x10',
        ' 5',
        '１２',
        '9'.repeat(16),
        '',
        12.5,
        null,
      ),
    }),
    fc.record({ at: fc.constant(['currency']), value: fc.constantFrom('eur', 'XXX', 'EURO', '', 978, null) }),
    fc.record({ at: fc.constant(['obligation']), value: fc.constantFrom('TOS', 'both', '', null) }),
    fc.record({ at: fc.constant(['effectiveAt']), value: badInstant }),
    // A well-formed id that no entry of any incident has.
    fc.record({
      at: fc.constant(['corrects']),
      value: fc.constantFrom('01KAZ3NDEKTSV4RRFFQ69G5FAV', 'seq-1', '1', ''),
    }),
    fc.record({
      at: fc.constant(['customerRef']),
      value: fc.constantFrom('ada@example.com', '', '\u202Ecus_1'),
    }),
    fc.record({ at: fc.constant(['hours']), value: fc.constantFrom('2', '1.5') }),
    fc.record({
      at: fc.constantFrom(...PROTOTYPE_KEYS, 'email', 'name', 'seq', 'state').map((key) => [key]),
      value: fc.constantFrom('x', 'ada@example.com', 1),
    }),
    fc.record({
      at: fc.constantFrom(['reason'], ['actor'], ['productArea']),
      value: fc.oneof(
        fc.constantFrom('', '   ', 'lone \uD800', 'a\u0000b', 7, null),
        fc.integer({ min: 2049, max: 5000 }).map((n) => 'r'.repeat(n)),
      ),
    }),
    // A person's address belongs in `actor` only; a customer's nowhere.
    fc.record({
      at: fc.constantFrom(['reason'], ['productArea'], ['providerRef']),
      value: fc.constantFrom('refunded ada@example.com', 'ada@example.com'),
    }),
  );
}

/** A JSON body of `kind`: text noise in `noisy` fields, then one or two breakers, applied last. */
function brokenBody(
  kind: 'ledger' | 'declaration',
  noisy: readonly string[],
  breakers: fc.Arbitrary<Mutation>,
): fc.Arbitrary<BodyRecipe> {
  const noise = fc.record({
    at: fc.constantFrom(...noisy.map((field) => [field])),
    value: bodyText.map(expand),
  });
  return fc.record({
    kind: fc.constant(kind),
    noise: fc.array(noise, { maxLength: 3 }),
    breakers: fc.array(breakers, { minLength: 1, maxLength: 2 }),
  });
}

function ledgerRecipe(): fc.Arbitrary<BodyRecipe> {
  return brokenBody(
    'ledger',
    ['reason', 'actor', 'productArea', 'glCode', 'world', 'providerRef'],
    ledgerBreakers(),
  );
}

/** A declaration (`POST /incidents`) that is valid as it stands: it would open an incident. */
const DECLARATION = {
  title: 'Customer charged twice, fuzzed',
  description: 'Two charges for one order.\nSee the ticket.',
  category: 'financial_discrepancy',
  csTicketId: 'FUZZ-1',
  reporter: 'fuzz@corp.example',
};

/** Changes to a declaration, each of which makes it invalid by itself whatever the noise did. */
function declarationBreakers(): fc.Arbitrary<Mutation> {
  const tooLong = (bytes: number) =>
    fc.integer({ min: bytes + 1, max: bytes + 3000 }).map((n) => 'x'.repeat(n));
  return fc.oneof(
    fc.record({
      at: fc.constantFrom(['title'], ['description'], ['category'], ['csTicketId'], ['reporter']),
      value: fc.constant(undefined),
    }),
    fc.record({
      at: fc.constant(['category']),
      value: fc.constantFrom(
        '',
        'Financial_Discrepancy',
        'financial-discrepancy',
        'billing',
        'RML3',
        7,
        null,
        ['other'],
      ),
    }),
    fc.record({
      at: fc.constant(['reporter']),
      value: fc.constantFrom(
        '',
        'not-an-address',
        'a@b',
        'Ana <ana@corp.example>',
        `${'a'.repeat(250)}@example.com`,
        '\u202Eana@corp.example',
        7,
        null,
      ),
    }),
    fc.record({
      at: fc.constant(['severity']),
      value: fc.constantFrom('sev1', 'P1', 'SEV5', 'critical', '', null, 1),
    }),
    fc.record({ at: fc.constant(['world']), value: fc.constantFrom('rml3', 'RML4', 'History', '', null, 3) }),
    fc.record({ at: fc.constant(['startedAt']), value: badInstant }),
    fc.record({
      at: fc.constantFrom(['title'], ['description'], ['csTicketId'], ['productArea']),
      value: fc.constantFrom(
        '',
        '   ',
        ' \u202E ',
        'lone \uD800',
        7,
        null,
        ['x'],
        'refunded ada@example.com',
      ),
    }),
    fc.record({ at: fc.constantFrom(['description'], ['csTicketId']), value: fc.constant('a\u0000b') }),
    fc.record({ at: fc.constant(['title']), value: tooLong(LIMITS.titleBytes) }),
    fc.record({ at: fc.constant(['description']), value: tooLong(LIMITS.annotationValueBytes) }),
    fc.record({
      at: fc.constantFrom(['csTicketId'], ['productArea']),
      value: tooLong(LIMITS.labelValueBytes),
    }),
    fc.record({
      at: fc
        .constantFrom(...PROTOTYPE_KEYS, 'email', 'customer', 'severty', 'incidentId')
        .map((key) => [key]),
      value: fc.constantFrom('x', 'ada@example.com', 1),
    }),
  );
}

function declarationRecipe(): fc.Arbitrary<BodyRecipe> {
  return brokenBody(
    'declaration',
    ['title', 'description', 'productArea', 'severity', 'world', 'csTicketId'],
    declarationBreakers(),
  );
}

/**
 * A body each workroom action (`POST /work/{linkId}/{action}`) would take as it stands: the
 * breakers below make it invalid. `acknowledge` and `submit-plan` have no fields.
 */
const WORK_BODIES: Readonly<Record<string, Record<string, unknown>>> = {
  acknowledge: {},
  contain: {
    actions: [{ description: 'Flag off, fuzzed', safety: 'RISKY', world: 'RML3' }],
    contained: true,
  },
  impact: {
    users: 3,
    transactions: 3,
    assets: ['money'],
    from: '2026-01-01T00:00:00Z',
    summary: 'Fuzzed impact.',
  },
  customers: {
    customers: [{ customer_ref: 'cus_fuzz', email: 'fuzz@example.com', amount: '1.00', currency: 'EUR' }],
  },
  plan: {
    summary: 'Fuzzed plan.',
    apply: [{ kind: 'notice', obligation: 'brand', template: 'apology' }],
    effects: [],
  },
  'submit-plan': {},
  severity: { severity: 'SEV1', reason: 'Fuzzed.' },
  size: { size: 'large', reason: 'Fuzzed.' },
  regulator: { reference: 'FUZZ-1', notifiedAt: '2026-01-01T00:00:00Z' },
  cancel: { reason: 'Fuzzed.', outcome: 'false_alarm', world: 'RML1' },
  note: { text: 'Fuzzed note.' },
  handoff: { to: 'responder@casebook.local' },
  time: { role: 'SRE', minutes: 30, note: 'Fuzzed.' },
  postmortem: {
    title: 'Fuzzed',
    summary: 'Fuzzed.',
    rootCause: 'Fuzzed.',
    contributingFactors: [],
    whatWentWell: [],
    lessons: { technical: ['Fuzzed.'], process: [], governance: [] },
    actionItems: [],
  },
  'reissue-link': { person: 'responder@casebook.local', reason: 'Fuzzed.' },
  'revoke-link': { person: 'responder@casebook.local', reason: 'Fuzzed.' },
};

/** The valid body of `action`, or none for a name that is no action (own members only). */
function workBody(action: string): Record<string, unknown> {
  return Object.hasOwn(WORK_BODIES, action) ? (WORK_BODIES[action] as Record<string, unknown>) : {};
}

/** Values that no field of any workroom action takes, by the type of the field's valid value. */
function wrongFor(valid: unknown): fc.Arbitrary<unknown> {
  if (typeof valid === 'string') return fc.constantFrom('', '   ', '\t', 7, null, ['x'], 'x'.repeat(10_001));
  if (typeof valid === 'number') return fc.constantFrom(-1, 1.5, '5', null, 'x');
  if (typeof valid === 'boolean') return fc.constantFrom('true', 1, null, 'yes');
  if (Array.isArray(valid)) return fc.constantFrom('x', null, [null], [7], {});
  return fc.constantFrom('x', null, [], 7);
}

/**
 * Changes to a workroom action's body, each of which makes it invalid by itself: a key the action
 * does not know (every schema is strict), a required field deleted, or a field of the wrong kind.
 */
function workBreakers(action: string): fc.Arbitrary<Mutation> {
  const body = workBody(action);
  const unknownKey = fc.record({
    at: fc.constantFrom(...PROTOTYPE_KEYS, 'email', 'incidentId', 'by', 'phase').map((key) => [key]),
    value: fc.constantFrom('x', 'ada@example.com', 1),
  });
  const fields = Object.keys(body).filter((field) => action !== 'plan' || field !== 'effects');
  if (action === 'customers') {
    return fc.oneof(
      unknownKey,
      fc.record({
        at: fc.constantFrom(['customers', 0, 'customer_ref'], ['customers', 0, 'currency'], ['customers']),
        value: fc.constant(undefined),
      }),
      fc.record({
        at: fc.constant(['customers', 0, 'amount']),
        value: fc.constantFrom('1.234', '-1', '1e3', 'x', null),
      }),
      fc.record({
        at: fc.constant(['customers', 0, 'currency']),
        value: fc.constantFrom('eur', 'XXX', '', 978),
      }),
      fc.record({ at: fc.constant(['customers', 0, 'email']), value: fc.constantFrom('not-an-address', 7) }),
    );
  }
  if (fields.length === 0) return unknownKey;
  return fc.oneof(
    unknownKey,
    fc.record({ at: fc.constantFrom(...fields).map((f) => [f]), value: fc.constant(undefined) }),
    fc.constantFrom(...fields).chain((f) => fc.record({ at: fc.constant([f]), value: wrongFor(body[f]) })),
  );
}

/** Every action's name, and names that are none. */
const workAction: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...Object.keys(WORK_ACTIONS)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      ...PROTOTYPE_KEYS,
      'Acknowledge',
      'acknowledge%00',
      'submit_plan',
      '%2F',
      '..',
    ),
  },
);

/** A CSV customer list with at least one bad line (bad amount, currency, address or column count). */
const brokenCsv: fc.Arbitrary<BodyRecipe> = fc
  .tuple(
    fc.constantFrom(
      'cus_1,ada@example.com,Ada,12.345,EUR,payments,ch_1',
      'cus_1,ada@example.com,Ada,12.50,XXX,payments,ch_1',
      'cus_1,not-an-address,Ada,12.50,EUR,payments,ch_1',
      'cus_1,ada@example.com,Ada,1.5,JPY,payments,ch_1',
      'cus_1,ada@example.com',
      ',ada@example.com,Ada,12.50,EUR,payments,ch_1',
      '"cus_1,ada@example.com,Ada,12.50,EUR,payments,ch_1',
    ),
    fc.array(
      anyText.map((t) => expand(t).slice(0, 200)),
      { maxLength: 3 },
    ),
  )
  .map(([bad, more]) => ({
    kind: 'csv',
    lines: ['customer_ref,email,name,amount,currency,product_area,payment_ref', ...more, bad],
  }));

function alertRecipe(): fc.Arbitrary<BodyRecipe> {
  return fc.record({
    kind: fc.constant('alert' as const),
    noise: fc.array(noise, { maxLength: 4 }),
    breakers: fc.array(breakers(), { minLength: 1, maxLength: 2 }),
    damage: fc.oneof(
      { weight: 8, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.constantFrom('cut' as const, 'garbage' as const) },
    ),
    // Bodies up to the limit and just past it, now and then (they are slow to build and send).
    padTo: fc.oneof(
      { weight: 40, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.integer({ min: LIMITS.bodyBytes - 2000, max: LIMITS.bodyBytes + 2000 }) },
    ),
  });
}

const strangeBody: fc.Arbitrary<BodyRecipe> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('text' as const), text: anyText }) },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('text' as const),
      text: anyJson.map((v) => JSON.stringify(v) ?? 'undefined'),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('bytes' as const),
      bytes: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 64 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('nested' as const),
      depth: fc.integer({ min: 1, max: 20_000 }),
      open: fc.constantFrom('[' as const, '{"a":' as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('text' as const),
      text: fc
        .integer({ min: LIMITS.bodyBytes - 10, max: LIMITS.bodyBytes + 10_000 })
        .map((n) => ({ repeat: ' ', times: n })),
    }),
  },
);

/** `arbitrary`'s value one time in five, else undefined. */
function rarely<T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });
}

/** POSTs to a workroom action: a JSON body (or a CSV list) that the action must refuse. */
function workPost(route: Route, targets: Targets): fc.Arbitrary<RequestRecipe> {
  return fc.tuple(workAction, idSegment(targets.workLinkIds)).chain(([action, link]) =>
    fc.record({
      aim: fc.constant(`${route.method} ${route.path}`),
      method: fc.oneof(
        { weight: 8, arbitrary: fc.constant('POST') },
        { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE') },
      ),
      path: fc.constant(`/work/${link}/${action}`),
      query: rarely(queryString(targets)).map((q) => q ?? ''),
      headers: headers(targets, false),
      body: fc.oneof(
        {
          weight: 6,
          arbitrary: fc.record({
            kind: fc.constant('work' as const),
            action: fc.constant(action),
            breakers: fc.array(workBreakers(action), { minLength: 1, maxLength: 2 }),
          }),
        },
        { weight: action === 'customers' ? 4 : 1, arbitrary: brokenCsv },
        { weight: 1, arbitrary: strangeBody },
      ),
    }),
  );
}

/**
 * Answers posted to a question: mostly to the real question, as a form, so the answers' fields (the
 * resend's address above all) reach the use case rather than the link check or the content type.
 */
function answerPost(route: Route, targets: Targets): fc.Arbitrary<RequestRecipe> {
  return fc.record({
    aim: fc.constant(`${route.method} ${route.path}`),
    method: fc.oneof(
      { weight: 8, arbitrary: fc.constant('POST') },
      { weight: 1, arbitrary: fc.constantFrom('GET', 'HEAD', 'PUT', 'DELETE') },
    ),
    path: fc
      .oneof(
        { weight: 3, arbitrary: fc.constantFrom(...targets.questionIds) },
        { weight: 1, arbitrary: idSegment(targets.questionIds) },
      )
      .map((id) => `/effects/${id}`),
    query: rarely(queryString(targets)).map((q) => q ?? ''),
    headers: fc.oneof(
      {
        weight: 3,
        arbitrary: headers(targets, true).map((h) => ({
          ...h,
          'content-type': 'application/x-www-form-urlencoded',
        })),
      },
      { weight: 1, arbitrary: headers(targets, true) },
    ),
    body: fc.oneof(
      { weight: 6, arbitrary: questionFormRecipe(targets.otherAddress) },
      { weight: 1, arbitrary: strangeBody },
    ),
  });
}

/** Requests aimed at one route. */
function forRoute(route: Route, targets: Targets): fc.Arbitrary<RequestRecipe> {
  if (route.path === '/work/{linkId}/{action}') return workPost(route, targets);
  if (route.path === '/effects/{questionId}' && route.method === 'POST') return answerPost(route, targets);
  const isForm = route.path.startsWith('/approvals') || route.path.startsWith('/effects');
  const segment =
    route.path === '/webhooks/{source}'
      ? fc.oneof(
          { weight: 6, arbitrary: fc.constant('alertmanager') },
          {
            weight: 1,
            arbitrary: fc.constantFrom(
              ...PROTOTYPE_KEYS,
              'Alertmanager',
              'alertmanager%00',
              'alertmanager%2F',
              'grafana',
            ),
          },
          { weight: 1, arbitrary: idSegment(['alertmanager']) },
        )
      : idSegment(
          route.path.startsWith('/approvals')
            ? targets.approvalIds
            : route.path.startsWith('/work')
              ? targets.workLinkIds
              : route.path.startsWith('/effects')
                ? targets.questionIds
                : targets.incidentIds,
        );
  const posted = isForm
    ? formRecipe()
    : route.path.endsWith('/ledger')
      ? ledgerRecipe()
      : route.path === '/incidents'
        ? declarationRecipe()
        : alertRecipe();
  const body: fc.Arbitrary<BodyRecipe | undefined> =
    route.method !== 'POST'
      ? rarely(strangeBody)
      : fc.oneof({ weight: 4, arbitrary: posted }, { weight: 1, arbitrary: strangeBody });
  return fc.record({
    aim: fc.constant(`${route.method} ${route.path}`),
    method: fc.oneof(
      { weight: 8, arbitrary: fc.constant(route.method) },
      { weight: 1, arbitrary: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS') },
    ),
    path: route.path.includes('{')
      ? segment.map((s) => route.path.replace(/\{\w+\}/, s))
      : fc.oneof(
          { weight: 8, arbitrary: fc.constant(route.path) },
          { weight: 1, arbitrary: fc.constantFrom(`${route.path}/`, route.path.toUpperCase()) },
        ),
    query:
      route.path === '/incidents' || route.path.startsWith('/auth/')
        ? queryString(targets)
        : rarely(queryString(targets)).map((q) => q ?? ''),
    headers: headers(targets, isForm),
    body,
  });
}

/** Long strings cut to their first characters and their length, so a counterexample stays readable. */
export function compact(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'string' && v.length > 120 ? `${v.slice(0, 100)}…(${v.length} chars)` : v,
  );
}

/** A recipe that fast-check prints with {@link compact}. */
function printable(recipe: RequestRecipe): RequestRecipe {
  return Object.defineProperty({ ...recipe }, fc.toStringMethod, { value: () => compact(recipe) });
}

/** Requests aimed at every route, and at none. */
export function hostileRequests(targets: Targets): fc.Arbitrary<RequestRecipe> {
  const elsewhere = fc.record({
    aim: fc.constant('none'),
    method: fc.constantFrom('GET', 'POST', 'DELETE'),
    path: fc.oneof(
      fc.constantFrom(
        '/',
        '/webhooks',
        '/webhooks/',
        '/approvals',
        '/incidents/a/b',
        '//incidents',
        '/%2e%2e/incidents',
      ),
      anyText.map((t) => `/${encode(expand(t).slice(0, 500))}`),
    ),
    query: fc.constant(''),
    headers: headers(targets, false),
    body: rarely(strangeBody),
  });
  return fc
    .oneof(...ROUTES.map((route) => ({ weight: 4, arbitrary: forRoute(route, targets) })), {
      weight: 1,
      arbitrary: elsewhere,
    })
    .map(printable);
}

/** The bytes a recipe stands for. */
export function build(
  recipe: RequestRecipe,
  targets: Targets,
): { headers: Record<string, string>; body?: Buffer } {
  const headers = Object.fromEntries(Object.entries(recipe.headers).map(([k, v]) => [k, expand(v)]));
  const body = recipe.body ? bodyBytes(recipe.body, targets) : undefined;
  return { headers, ...(body ? { body } : {}) };
}

function bodyBytes(recipe: BodyRecipe, targets: Targets): Buffer {
  switch (recipe.kind) {
    case 'alert': {
      const payload = structuredClone(targets.fixture);
      for (const m of [...recipe.noise, ...recipe.breakers]) applyMutation(payload, m);
      if (recipe.padTo) {
        const size = Buffer.byteLength(JSON.stringify(payload));
        payload.padding = 'p'.repeat(Math.max(0, recipe.padTo - size - 14));
      }
      const json = JSON.stringify(payload);
      if (recipe.damage === 'cut') return Buffer.from(json.slice(0, Math.max(1, json.length - 7)));
      if (recipe.damage === 'garbage') return Buffer.from(`${json}}}`);
      return Buffer.from(json);
    }
    case 'ledger':
    case 'declaration': {
      const body: Record<string, unknown> = structuredClone(
        recipe.kind === 'ledger' ? LEDGER_ENTRY : DECLARATION,
      );
      for (const m of [...recipe.noise, ...recipe.breakers]) applyMutation(body, m);
      return Buffer.from(JSON.stringify(body));
    }
    case 'work': {
      const body: Record<string, unknown> = structuredClone(workBody(recipe.action));
      for (const m of recipe.breakers) applyMutation(body, m);
      return Buffer.from(JSON.stringify(body));
    }
    case 'csv':
      return Buffer.from(recipe.lines.join('\n').toWellFormed());
    case 'form':
      return Buffer.from(
        recipe.fields.map(([k, v]) => `${encode(expand(k))}=${encode(expand(v))}`).join('&'),
      );
    case 'text':
      return Buffer.from(expand(recipe.text).toWellFormed());
    case 'bytes':
      return Buffer.from(recipe.bytes);
    case 'nested':
      return Buffer.from(
        `${recipe.open.repeat(recipe.depth)}1${(recipe.open === '[' ? ']' : '}').repeat(recipe.depth)}`,
      );
  }
}
