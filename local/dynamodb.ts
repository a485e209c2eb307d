/**
 * dynalite, started the way the local stack, the tests and the benchmarks need it, with what it
 * lacks of DynamoDB's API added. One addition so far: `ReturnValuesOnConditionCheckFailure:
 * 'ALL_OLD'` on PutItem, UpdateItem and DeleteItem, which dynalite drops unread. DynamoDB then
 * answers a refused write's `ConditionalCheckFailedException` with the item as it stood (`Item`,
 * absent when there was no item), so a writer learns who holds a key without reading it again.
 */

import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import dynalite from 'dynalite';

type DynaliteOptions = NonNullable<Parameters<typeof dynalite>[0]>;

/** The part of dynalite's internals the addition hooks into (the same module instances dynalite uses). */
interface DynaliteDb {
  checkConditional(data: Record<string, unknown>, existingItem: unknown): DynaliteError | null | undefined;
}
interface DynaliteError extends Error {
  body?: Record<string, unknown>;
}

let patched = false;

/** Adds `ReturnValuesOnConditionCheckFailure` to dynalite, once per process. */
function returnItemOnConditionFailure(): void {
  if (patched) return;
  patched = true;
  const require = createRequire(import.meta.resolve('dynalite'));
  // dynalite's validation keeps only the parameters its types name: the new one must be named.
  for (const action of ['putItem', 'updateItem', 'deleteItem']) {
    const validation = require(`./validations/${action}`) as { types: Record<string, unknown> };
    validation.types.ReturnValuesOnConditionCheckFailure = { type: 'String', enum: ['ALL_OLD', 'NONE'] };
  }
  const db = require('./db') as DynaliteDb;
  const check = db.checkConditional;
  db.checkConditional = (data, existingItem) => {
    const refused = check(data, existingItem);
    if (refused?.body && existingItem && data.ReturnValuesOnConditionCheckFailure === 'ALL_OLD') {
      refused.body.Item = existingItem;
    }
    return refused;
  };
}

/** A dynalite server (not yet listening), with the additions above; in memory unless `path` is given. */
export function localDynamo(options: DynaliteOptions = {}): Server {
  returnItemOnConditionFailure();
  return dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...options });
}
