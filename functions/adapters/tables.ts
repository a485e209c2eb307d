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
 * Operational table, single-table design (`pk` / `sk`, and the `byCreation` index that lists
 * incidents newest first): every key it holds is built in `operations-keys.ts`, whose header
 * shows the layout.
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
