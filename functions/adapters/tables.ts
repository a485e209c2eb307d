/**
 * Key schemas of Casebook's two DynamoDB tables, defined once for the CDK app (which creates the
 * tables on AWS), the local stack (which creates them in dynalite) and the adapters (which use them).
 */

export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S' | 'N';
}

export interface TableSchema {
  readonly partitionKey: KeyAttribute;
  readonly sortKey: KeyAttribute;
  readonly globalSecondaryIndexes: readonly {
    readonly indexName: string;
    readonly partitionKey: KeyAttribute;
    readonly sortKey: KeyAttribute;
  }[];
}

/**
 * Operational table, single-table design (`pk` / `sk`): an incident (`INCIDENT#<id>` / `META`)
 * with its timeline events (`INCIDENT#<id>` / `EVENT#<key>`) and its approvals
 * (`INCIDENT#<id>` / `APPROVAL#<round, 4 digits>#<role>`) in the same partition; correlation keys
 * (`CORRELATION#<key>` / `META`); the incident number counters (`COUNTER` / `incident#<year>`).
 * Only incidents carry the `byCreation` index keys (`INCIDENTS` / `<detectedAt>#<id>`), which list
 * them newest first.
 */
export const OPERATIONS_TABLE: TableSchema = {
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  globalSecondaryIndexes: [
    {
      indexName: 'byCreation',
      partitionKey: { name: 'gsi1pk', type: 'S' },
      sortKey: { name: 'gsi1sk', type: 'S' },
    },
  ],
};

/**
 * Ledger table: the Effect Ledger and the Decision Log of every incident, one hash chain per
 * incident ordered by `seq`. Append-only: entries are only ever put with a condition that the
 * key is new.
 */
export const LEDGER_TABLE: TableSchema = {
  partitionKey: { name: 'incidentId', type: 'S' },
  sortKey: { name: 'seq', type: 'N' },
  globalSecondaryIndexes: [],
};
