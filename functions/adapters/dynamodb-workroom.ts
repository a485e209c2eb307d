/** The workroom's own items in the operational table: people's links, who was told what, and the postmortem. */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { PostmortemStore, ToldMarks, WorkLinkStore } from '../domain/ports.ts';
import type { LinkRevocation, WorkLink } from '../domain/work-link.ts';
import { MORE_SECRETS_KEPT } from '../domain/work-link.ts';
import type { SubmittedPostmortem } from '../domain/workroom.ts';
import { getItem, putIfAbsent, queryAll, updateIf } from './dynamo-items.ts';
import { fromItem } from './operations-items.ts';
import { keys } from './operations-keys.ts';

export class DynamoDbWorkroom implements WorkLinkStore, ToldMarks, PostmortemStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.client = client;
    this.tableName = tableName;
  }

  async putWorkLink(link: WorkLink): Promise<boolean> {
    const { emailedAt: _never, ...fields } = link;
    return putIfAbsent(this.client, this.tableName, {
      ...keys.workLink(link.incidentId, link.person),
      entity: 'worklink',
      ...fields,
    });
  }

  async addWorkLinkSecret(
    link: Pick<WorkLink, 'incidentId' | 'person' | 'secretHash' | 'moreSecrets'>,
    secretHash: string,
    now: string,
  ): Promise<boolean> {
    const more = link.moreSecrets ?? [];
    if (more.length >= MORE_SECRETS_KEPT) return false;
    // Over the link as read: a reissue, a revoke or another secret added meanwhile wins.
    return updateIf(
      this.client,
      this.tableName,
      keys.workLink(link.incidentId, link.person),
      { moreSecrets: [...more, secretHash] },
      {
        expression: `secretHash = :current AND attribute_not_exists(revoked) AND expiresAt > :now AND ${
          more.length ? 'size(moreSecrets) = :count' : 'attribute_not_exists(moreSecrets)'
        }`,
        values: {
          ':current': link.secretHash,
          ':now': now,
          ...(more.length ? { ':count': more.length } : {}),
        },
      },
    );
  }

  async toldOf(incidentId: string, news: string): Promise<string[]> {
    const items = await queryAll(
      this.client,
      this.tableName,
      keys.incidentPartition(incidentId),
      keys.toldPrefix(news),
    );
    return items.map((item) => String(item.sk).slice(keys.toldPrefix(news).length));
  }

  async markTold(incidentId: string, news: string, person: string, at: string): Promise<void> {
    await putIfAbsent(this.client, this.tableName, {
      ...keys.told(incidentId, news, person),
      entity: 'told',
      at,
    });
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
      { emailedAt: undefined, revoked: undefined, moreSecrets: undefined, ...fields },
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
