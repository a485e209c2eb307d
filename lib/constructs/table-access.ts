/**
 * DynamoDB actions per access mode, listed here rather than taken from `grantReadData` and
 * friends so that grants name each index instead of `index/*`, leave out streams (no function
 * reads one), and so that "append-only" is defined once for the ledger's resource policy and for
 * the functions that append to it.
 */

/** Reading items and querying the table or its named indexes. */
export const READ_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DescribeTable',
] as const;

/** Actions that apply to a global secondary index rather than to the table. */
export const INDEX_ACTIONS = ['dynamodb:Query', 'dynamodb:Scan'] as const;

/** Everything a read-write function may do to items. */
export const WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
] as const;

/** Everything an appender needs: a conditional put of a new entry, and reading the chain back. */
export const APPEND_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:GetItem',
  'dynamodb:Query',
  'dynamodb:DescribeTable',
] as const;

/**
 * Every data-plane call that could change or remove an existing entry. PartiQLInsert and
 * BatchWriteItem could only add entries too, but they bypass the single conditional-put path
 * the hash chain relies on, so they are refused as well.
 */
export const MUTATING_ACTIONS = [
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:PartiQLInsert',
  'dynamodb:PartiQLUpdate',
  'dynamodb:PartiQLDelete',
] as const;
