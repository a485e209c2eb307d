/** The workroom's own items in the operational table: people's links and the postmortem. */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { PostmortemStore, WorkLinkStore } from '../domain/ports.ts';
import type { LinkRevocation, WorkLink } from '../domain/work-link.ts';
import type { SubmittedPostmortem } from '../domain/workroom.ts';
import { getItem, putIfAbsent, updateIf } from './dynamo-items.ts';
import { fromItem } from './operations-items.ts';
import { keys } from './operations-keys.ts';

export class DynamoDbWorkroom implements WorkLinkStore, PostmortemStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.client = client;
    this.tableName = tableName;
  }

  async putWorkLink(link: WorkLink): Promise<boolean> {
    const { emailedAt: _never, ...fields } = link;
    return updateIf(
      this.client,
      this.tableName,
      keys.workLink(link.incidentId, link.person),
      { entity: 'worklink', ...fields },
      { expression: 'attribute_not_exists(emailedAt)' },
      { createIfAbsent: true },
    );
  }

  async getWorkLink(incidentId: string, person: string): Promise<WorkLink | undefined> {
    const item = await getItem(this.client, this.tableName, keys.workLink(incidentId, person));
    return item ? fromItem.workLink(item) : undefined;
  }

  async markWorkLinkEmailed(incidentId: string, person: string, at: string): Promise<void> {
    await updateIf(this.client, this.tableName, keys.workLink(incidentId, person), { emailedAt: at });
  }

  async replaceWorkLink(link: WorkLink, previousHash: string): Promise<boolean> {
    const { incidentId, person, ...fields } = link;
    return updateIf(
      this.client,
      this.tableName,
      keys.workLink(incidentId, person),
      // Absent fields are removed: a reissued link is not revoked, and not e-mailed yet.
      { emailedAt: undefined, revoked: undefined, ...fields },
      { expression: 'secretHash = :previous', values: { ':previous': previousHash } },
    );
  }

  async revokeWorkLink(incidentId: string, person: string, revocation: LinkRevocation): Promise<boolean> {
    return updateIf(this.client, this.tableName, keys.workLink(incidentId, person), { revoked: revocation });
  }

  async putPostmortem(incidentId: string, postmortem: SubmittedPostmortem): Promise<boolean> {
    return putIfAbsent(this.client, this.tableName, {
      ...keys.postmortem(incidentId),
      entity: 'postmortem',
      ...postmortem,
    });
  }

  async getPostmortem(incidentId: string): Promise<SubmittedPostmortem | undefined> {
    const item = await getItem(this.client, this.tableName, keys.postmortem(incidentId));
    return item ? fromItem.postmortem(item) : undefined;
  }
}
