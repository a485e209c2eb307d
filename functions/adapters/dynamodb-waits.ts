/**
 * Waits for people in the operational table: the task token of each waiting step (read only by
 * the use cases that end the wait), and the questions about effects that people answer.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { EffectQuestion } from '../domain/effects.ts';
import type { QuestionStore, WaitStore } from '../domain/ports.ts';
import { putIfAbsent, queryAll, updateIf, withoutKeys } from './dynamo-items.ts';
import { keys } from './operations-keys.ts';

const questionSchema = z.object({
  incidentId: z.string(),
  effectId: z.string(),
  attempt: z.number(),
  reason: z.enum(['in-doubt', 'refused', 'manual']),
  detail: z.string(),
  askedAt: z.string(),
  links: z.record(z.string(), z.string()),
  emailedAt: z.string().optional(),
  answered: z
    .object({
      answer: z.enum(['sent', 'not-sent', 'retry', 'done-by-hand', 'void']),
      by: z.string(),
      at: z.string(),
      note: z.string(),
      reference: z.string().optional(),
    })
    .optional(),
});

export class DynamoDbWaits implements WaitStore, QuestionStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.client = client;
    this.tableName = tableName;
  }

  async holdWait(incidentId: string, step: string, taskToken: string, since: string): Promise<void> {
    // A wait entered again (after a timeout, or a retry of the step) takes over from the one before.
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.wait(incidentId, step),
        UpdateExpression: 'SET entity = :e, taskToken = :t, since = :s',
        ExpressionAttributeValues: { ':e': 'wait', ':t': taskToken, ':s': since },
      }),
    );
  }

  async waitingToken(incidentId: string, step: string): Promise<string | undefined> {
    const out = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: keys.wait(incidentId, step),
        ProjectionExpression: 'taskToken',
        ConsistentRead: true,
      }),
    );
    return out.Item?.taskToken as string | undefined;
  }

  async releaseWait(incidentId: string, step: string, taskToken: string): Promise<void> {
    await updateIf(
      this.client,
      this.tableName,
      keys.wait(incidentId, step),
      { taskToken: undefined },
      {
        expression: 'taskToken = :c_token',
        values: { ':c_token': taskToken },
      },
    );
  }

  async createQuestion(question: EffectQuestion): Promise<boolean> {
    return putIfAbsent(this.client, this.tableName, {
      ...keys.question(question.incidentId, question.effectId, question.attempt),
      entity: 'question',
      ...question,
    });
  }

  async getQuestion(
    incidentId: string,
    effectId: string,
    attempt: number,
  ): Promise<EffectQuestion | undefined> {
    const out = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: keys.question(incidentId, effectId, attempt),
        ConsistentRead: true,
      }),
    );
    return out.Item ? questionSchema.parse(withoutKeys(out.Item)) : undefined;
  }

  async replaceLinks(question: EffectQuestion): Promise<void> {
    await updateIf(
      this.client,
      this.tableName,
      keys.question(question.incidentId, question.effectId, question.attempt),
      { links: question.links },
      { expression: 'attribute_not_exists(emailedAt)', values: {} },
    );
  }

  async markEmailed(incidentId: string, effectId: string, attempt: number, at: string): Promise<void> {
    await updateIf(this.client, this.tableName, keys.question(incidentId, effectId, attempt), {
      emailedAt: at,
    });
  }

  async answerQuestion(
    incidentId: string,
    effectId: string,
    attempt: number,
    answered: NonNullable<EffectQuestion['answered']>,
  ): Promise<boolean> {
    return updateIf(
      this.client,
      this.tableName,
      keys.question(incidentId, effectId, attempt),
      { answered },
      {
        expression: 'attribute_not_exists(answered)',
        values: {},
      },
    );
  }

  async openQuestions(incidentId: string): Promise<EffectQuestion[]> {
    const items = await queryAll(
      this.client,
      this.tableName,
      keys.incidentPartition(incidentId),
      keys.questionPrefix(),
    );
    return items.map((i) => questionSchema.parse(withoutKeys(i))).filter((q) => !q.answered);
  }
}
