/**
 * Issue 11's "no token leaks" acceptance, on the local stack: an incident is worked through every
 * wait for people — containment, the plan, an approval round whose Business primary lets the
 * deadline pass so that the backup is asked (and asks for changes), a second round, Act, the
 * postmortem — and then each task token the state machine minted, taken from the execution's
 * history (GetExecutionHistory, TaskScheduled parameters), is looked for in everything the run
 * showed anyone: every e-mail in the SES store, every page and API answer the test was given, and
 * every line the stack and its handlers logged (at DEBUG, the most they say). It is in none.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.ts';
import {
  closeCase,
  openedToDecide,
  ROSTER_WITH_BUSINESS_BACKUP,
  resubmitPlan,
  workLinks,
  workroom,
} from '../support/casework.ts';
import {
  approvalLinks,
  approve,
  decide,
  executionHistory,
  freePorts,
  inbox,
  start,
  tempDataDir,
  waitFor,
} from '../support/local-stack.ts';

const alert = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');

// A round of 6 s: the undecided reminded at 3 s, the backups asked at 6 s, escalated at 9 s.
const DEADLINES = { decision: 0.1, escalation: 0.05, checkFloorSeconds: 1 };

/** Everything the run showed: the stack's lines, the handlers' logs, every HTTP answer the test got. */
const shown: string[] = [];
const realWrite = {
  out: process.stdout.write.bind(process.stdout),
  err: process.stderr.write.bind(process.stderr),
};
const realFetch = globalThis.fetch;
const capture = (chunk: unknown) => {
  shown.push(String(chunk));
  return true;
};

let stack: LocalStack;
beforeAll(async () => {
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  // Every answer the test (and its helpers) fetch is kept, headers and body. The SDK clients that
  // read the execution history do not go through fetch, so the tokens' source is not in here.
  globalThis.fetch = async (input, init) => {
    const res = await realFetch(input, init);
    const body = await res.clone().text();
    shown.push(
      `${init?.method ?? 'GET'} ${String(input)} ${res.status}\n${[...res.headers].join('\n')}\n${body}`,
    );
    return res;
  };
  stack = await start(tempDataDir(), await freePorts(), {
    log: (line) => shown.push(line),
    handlerLogLevel: 'DEBUG',
    environment: {
      CASEBOOK_DEADLINES: JSON.stringify(DEADLINES),
      CASEBOOK_APPROVAL_POLICY: JSON.stringify(ROSTER_WITH_BUSINESS_BACKUP),
    },
  });
});
afterAll(async () => {
  await stack?.close();
  globalThis.fetch = realFetch;
  process.stdout.write = realWrite.out;
  process.stderr.write = realWrite.err;
});

/** The task token of each task the execution scheduled with one (`$$.Task.Token` in its parameters). */
function taskTokens(history: readonly HistoryEvent[]): string[] {
  return history.flatMap((e) => {
    const parameters = e.taskScheduledEventDetails?.parameters;
    if (!parameters) return [];
    const token = (JSON.parse(parameters) as { Payload?: { taskToken?: unknown } }).Payload?.taskToken;
    return typeof token === 'string' ? [token] : [];
  });
}

/** The backup's link for `role` in `round`, from the e-mail that asked them. */
function backupLink(incidentId: string, round: number, to: string): Promise<string> {
  return waitFor(
    `the backup ${to} asked in round ${round}`,
    async () => {
      for (const mail of await inbox(stack)) {
        if (mail.destination.to[0] !== to) continue;
        const link = new RegExp(
          `(http://\\S+/approvals/${incidentId}\\.${round}\\.business\\.[A-Za-z0-9_-]{43})`,
        ).exec(mail.body.text ?? '')?.[1];
        if (link) return link;
      }
      return undefined;
    },
    30_000,
  );
}

describe('task tokens never leave the server', () => {
  it('are in no e-mail, no page or API answer, and no log line of a run through every wait', async () => {
    // Detect → Contain → Understand → Decide, the responder working through the workroom.
    const { incidentId, link: responder } = await openedToDecide(stack, alert);
    const people = await workLinks(stack, incidentId);

    // Round 1: SRE approves; Business's primary lets the deadline pass; the backup asks for changes.
    const first = await approvalLinks(stack, incidentId, 1);
    // Each approver opens the page before deciding, as people do.
    await fetch(first.get('sre') as string);
    expect((await approve(first.get('sre') as string)).status).toBe(303);
    const backup = await backupLink(incidentId, 1, 'bea@casebook.local');
    await fetch(backup);
    expect((await decide(backup, 'request-changes', 'Correct the receipt too')).status).toBe(303);

    // Round 2 on a revised plan: both approve; Act, then the postmortem closes the incident.
    await resubmitPlan(responder);
    const second = await approvalLinks(stack, incidentId, 2);
    for (const link of second.values()) {
      await fetch(link);
      expect((await approve(link)).status).toBe(303);
    }
    await closeCase(stack, incidentId, { link: responder });

    // Every page a person was sent to, as they would open it now, and every API answer.
    const links = [...people.values(), ...first.values(), backup, ...second.values()];
    for (const link of links) {
      await fetch(link);
      await fetch(link, { method: 'HEAD' });
    }
    for (const link of people.values()) await workroom(link);
    for (const path of [
      '/incidents',
      `/incidents/${incidentId}`,
      `/incidents/${incidentId}/case-file.yaml`,
    ]) {
      expect((await fetch(`${stack.endpoints.api}${path}`)).status).toBe(200);
    }
    const mails = await inbox(stack);

    // The tokens: one per entry into a wait, each its own.
    const tokens = taskTokens(await executionHistory(stack, incidentId));
    const waits = (await executionHistory(stack, incidentId)).filter(
      (e) => e.type === 'TaskStateEntered' && e.stateEnteredEventDetails?.name?.startsWith('Wait for'),
    ).length;
    expect(tokens).toHaveLength(waits);
    // Contain, Understand twice, Decide twice (the first entered again at each of its moments), Learn.
    expect(tokens.length).toBeGreaterThanOrEqual(8);
    expect(new Set(tokens).size).toBe(tokens.length);
    for (const token of tokens) expect(token.length).toBeGreaterThanOrEqual(64);

    // What the search reads is real: the e-mails, the pages, the handlers' own log lines.
    const everything = [...shown, ...mails.map((m) => JSON.stringify(m))].join('\n');
    expect(mails.filter((m) => m.subject.includes('approval needed')).length).toBeGreaterThanOrEqual(5);
    expect(mails.some((m) => m.subject.includes('reminder —'))).toBe(true);
    for (const seen of [
      '"message":"Waiting for people"',
      '"message":"Approval decided"',
      '"message":"Deadlines watched"',
      'Record my decision',
      `GET ${responder} 200`,
    ]) {
      expect(everything.includes(seen), `the run showed ${seen}`).toBe(true);
    }
    for (const token of tokens) {
      expect(everything.includes(token), `task token ${token.slice(0, 8)}… leaked`).toBe(false);
      // Nor a recognisable part of one (a log line cut short, a URL-encoded copy).
      expect(everything.includes(token.slice(0, 40))).toBe(false);
      expect(everything.includes(encodeURIComponent(token))).toBe(false);
    }
  }, 180_000);
});
