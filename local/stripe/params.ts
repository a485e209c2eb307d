/** Reading request parameters the way Stripe validates them, with Stripe's messages and codes. */
import { invalidParam } from './errors.ts';
import type { Param, Params } from './form.ts';

/** Refuses any parameter the endpoint does not take, as Stripe does (`parameter_unknown`). */
export function onlyKnown(params: Params, known: readonly string[]): void {
  for (const name of Object.keys(params)) {
    if (!known.includes(name) && name !== 'expand')
      throw invalidParam(name, `Received unknown parameter: ${name}`, 'parameter_unknown');
  }
  const expand = params.expand;
  // Expansion would change the shape of every answer; say so rather than answer ids silently.
  if (expand !== undefined && expand !== '' && !(Array.isArray(expand) && expand.length === 0))
    throw invalidParam('expand', 'The Casebook Stripe stand-in does not expand objects.');
}

export function optionalString(params: Params, name: string): string | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidParam(name, `Invalid string: ${name} must be a string`);
  return value === '' ? undefined : value;
}

export function requiredString(params: Params, name: string): string {
  const value = optionalString(params, name);
  if (value === undefined) throw missingParam(name);
  return value;
}

export function missingParam(name: string): ReturnType<typeof invalidParam> {
  return invalidParam(name, `Missing required param: ${name}.`, 'parameter_missing');
}

export function optionalInteger(params: Params, name: string, min: number | undefined): number | undefined {
  const raw = optionalString(params, name);
  if (raw === undefined) return undefined;
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(Number(raw)))
    throw invalidParam(name, `Invalid integer: ${raw}`, 'parameter_invalid_integer');
  const value = Number(raw);
  if (min !== undefined && value < min)
    throw invalidParam(
      name,
      `This value must be greater than or equal to ${min}.`,
      'parameter_invalid_integer',
    );
  return value;
}

export function requiredInteger(params: Params, name: string, min: number | undefined): number {
  const value = optionalInteger(params, name, min);
  if (value === undefined) throw missingParam(name);
  return value;
}

export function optionalBoolean(params: Params, name: string): boolean | undefined {
  const raw = optionalString(params, name);
  if (raw === undefined) return undefined;
  if (raw !== 'true' && raw !== 'false') throw invalidParam(name, `Invalid boolean: ${raw}`);
  return raw === 'true';
}

/** A three-letter currency code; Stripe answers it in lower case. */
export function currency(params: Params, name = 'currency'): string {
  const value = requiredString(params, name).toLowerCase();
  if (!/^[a-z]{3}$/.test(value)) throw invalidParam(name, `Invalid currency: ${value}.`);
  return value;
}

/** `metadata[key]=value` within Stripe's limits (50 keys, 40-character keys, 500-character values). */
export function metadata(params: Params): Record<string, string> {
  const raw: Param | undefined = params.metadata;
  if (raw === undefined || raw === '') return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalidParam('metadata', 'Invalid object');
  const entries = Object.entries(raw);
  if (entries.length > 50)
    throw invalidParam('metadata', 'Metadata can have a maximum of 50 key-value pairs.');
  const out: Record<string, string> = {};
  for (const [key, value] of entries) {
    if (typeof value !== 'string') throw invalidParam(`metadata[${key}]`, 'Invalid string');
    if (key.length > 40)
      throw invalidParam(`metadata[${key}]`, 'Metadata keys can have up to 40 characters.');
    if (value.length > 500)
      throw invalidParam(
        `metadata[${key}]`,
        `Metadata values can have up to 500 characters, but you passed in a value that is ${value.length} characters.`,
      );
    // An empty value unsets a key; on create that means it is simply absent.
    if (value !== '') out[key] = value;
  }
  return out;
}

const CREATED_BOUNDS = ['gt', 'gte', 'lt', 'lte'] as const;

/**
 * Stripe's `created` list filter: `created=<unix>` for one second, or any of `created[gt]`,
 * `created[gte]`, `created[lt]`, `created[lte]`; an unknown bound is refused as Stripe does.
 */
export function createdFilter(params: Params): (created: number) => boolean {
  const raw = params.created;
  if (raw === undefined || raw === '') return () => true;
  if (typeof raw === 'string') {
    const at = requiredInteger(params, 'created', undefined);
    return (created) => created === at;
  }
  if (Array.isArray(raw)) throw invalidParam('created', 'Invalid timestamp');
  const bounds: Partial<Record<(typeof CREATED_BOUNDS)[number], number>> = {};
  for (const name of Object.keys(raw)) {
    if (!(CREATED_BOUNDS as readonly string[]).includes(name))
      throw invalidParam(
        `created[${name}]`,
        `Received unknown parameter: created[${name}]`,
        'parameter_unknown',
      );
    const value = raw[name];
    if (typeof value !== 'string' || !/^-?\d+$/.test(value) || !Number.isSafeInteger(Number(value)))
      throw invalidParam(
        `created[${name}]`,
        `Invalid integer: ${String(value)}`,
        'parameter_invalid_integer',
      );
    bounds[name as (typeof CREATED_BOUNDS)[number]] = Number(value);
  }
  const { gt, gte, lt, lte } = bounds;
  return (created) =>
    (gt === undefined || created > gt) &&
    (gte === undefined || created >= gte) &&
    (lt === undefined || created < lt) &&
    (lte === undefined || created <= lte);
}
