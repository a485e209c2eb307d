/**
 * Waits for people in the operational table: the task token of each waiting step (read only by
 * the use cases that end the wait), and the questions about effects that people answer.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EffectQuestion } from '../domain/effects.ts';
import type { QuestionStore, WaitStore } from '../domain/ports.ts';
import { getItem, putIfAbsent, queryAll, updateIf } from './dynamo-items.ts';
import { fromItem } from './operations-items.ts';
import { keys } from './operations-keys.ts';

export class DynamoDbWaits implements WaitStore, QuestionStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.client = client;
    this.tableName = tableName;
  }

  async holdWait(incidentId: string, step: string, taskToken: string, since: string): Promise<void> {
    // A wait entered again (after a timeout, or a retry of the step) takes over from the one before.
    await updateIf(
      this.client,
      this.tableName,
      keys.wait(incidentId, step),
      { entity: 'wait', taskToken, since },
      undefined,
      { createIfAbsent: true },
    );
  }

  async waitingToken(incidentId: string, step: string): Promise<string | undefined> {
    const item = await getItem(this.client, this.tableName, keys.wait(incidentId, step), ['taskToken']);
    return typeof item?.taskToken === 'string' ? item.taskToken : undefined;
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
    const item = await getItem(this.client, this.tableName, keys.question(incidentId, effectId, attempt));
    return item ? fromItem.question(item) : undefined;
  }

  async replaceLinks(question: EffectQuestion): Promise<void> {
    await updateIf(
      this.client,
      this.tableName,
      keys.question(question.incidentId, question.effectId, question.attempt),
      { links: question.links },
      { expression: 'attribute_not_exists(emailedAt)' },
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
      { expression: 'attribute_not_exists(answered)' },
    );
  }

  async openQuestions(incidentId: string): Promise<EffectQuestion[]> {
    const items = await queryAll(
      this.client,
      this.tableName,
      keys.incidentPartition(incidentId),
      keys.questionPrefix(),
    );
    return items.map(fromItem.question).filter((q) => !q.answered);
  }
}
