import { RemovalPolicy } from 'aws-cdk-lib';
import {
  type Attribute,
  AttributeType,
  BillingMode,
  type ITable,
  ProjectionType,
  Table,
} from 'aws-cdk-lib/aws-dynamodb';
import { AnyPrincipal, Effect, PolicyDocument, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { KeyAttribute, TableSchema } from '../../functions/adapters/tables.ts';
import { MUTATING_ACTIONS } from './table-access.ts';
import { throwIfInvalid } from './validation.ts';

/** Properties of a {@link DurableTable}. */
export interface DurableTableProps {
  /** Key schema shared with the adapters and the local stack. */
  readonly schema: TableSchema;
  /**
   * Refuse every update, delete and batch write in the table's resource policy, for every
   * principal including administrators; a correction has to be a new entry.
   * @default false
   */
  readonly appendOnly?: boolean;
  /**
   * What happens to the table when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** A DynamoDB table that outlives mistakes: on-demand, PITR, deletion protection, retained. */
export class DurableTable extends Construct {
  /** The table, for grants and environment bindings. */
  public readonly table: ITable;

  public constructor(scope: Construct, id: string, props: DurableTableProps) {
    super(scope, id);
    throwIfInvalid(this, schemaProblems(props.schema));

    const { schema } = props;
    const table = new Table(this, 'Table', {
      partitionKey: toAttribute(schema.partitionKey),
      sortKey: toAttribute(schema.sortKey),
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      resourcePolicy: props.appendOnly
        ? new PolicyDocument({
            statements: [
              new PolicyStatement({
                sid: 'AppendOnly',
                effect: Effect.DENY,
                principals: [new AnyPrincipal()],
                actions: [...MUTATING_ACTIONS],
                // A table's own policy cannot name the table's ARN without a cycle; '*' means this table.
                resources: ['*'],
              }),
            ],
          })
        : undefined,
    });
    for (const index of schema.globalSecondaryIndexes) {
      table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: toAttribute(index.partitionKey),
        sortKey: toAttribute(index.sortKey),
        projectionType: ProjectionType.ALL,
      });
    }
    this.table = table;
  }
}

function toAttribute(key: KeyAttribute): Attribute {
  return { name: key.name, type: key.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER };
}

function schemaProblems(schema: TableSchema): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const index of schema.globalSecondaryIndexes) {
    if (names.has(index.indexName)) problems.push(`index ${index.indexName} is defined twice`);
    names.add(index.indexName);
  }
  // DynamoDB needs one type per attribute name across the table's and indexes' keys.
  const types = new Map<string, string>();
  const keys = [
    schema.partitionKey,
    schema.sortKey,
    ...schema.globalSecondaryIndexes.flatMap((i) => [i.partitionKey, i.sortKey]),
  ];
  for (const key of keys) {
    const seen = types.get(key.name);
    if (seen && seen !== key.type) problems.push(`attribute ${key.name} is both ${seen} and ${key.type}`);
    types.set(key.name, key.type);
  }
  return problems;
}
