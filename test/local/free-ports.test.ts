/**
 * Ports for test stacks: two processes taking them at once never get the same one, and none is
 * one the kernel could give an outgoing connection meanwhile.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ScriptProcess } from '../support/child-process.ts';
import { runScript } from '../support/child-process.ts';
import { freePorts, ROOT, spawnStack, tempDataDir } from '../support/local-stack.ts';

const running: ScriptProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.kill()));
});

describe('freePorts', () => {
  it('gives ports below the range the kernel takes source ports of outgoing connections from', async () => {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    const ports = Object.values(await freePorts()) as number[];
    expect(new Set(ports).size).toBe(7);
    for (const port of ports) {
      expect(port).toBeGreaterThan(1024);
      expect(port).toBeLessThan(low as number);
    }
  });

  it('never gives two processes starting at once the same port, and each can listen on all of its own', async () => {
    // 280 ports each: drawn at random without a reservation, two such sets would share some.
    const script = join(ROOT, 'test/support/free-ports-process.ts');
    const both = [runScript(script, ['40']), runScript(script, ['40'])];
    running.push(...both);
    const [a, b] = await Promise.all(
      both.map(async (p) => JSON.parse((await p.line('PORTS ', 60_000)).slice('PORTS '.length)) as number[]),
    );
    expect(a).toHaveLength(280);
    expect(new Set(a).size).toBe(280);
    expect(b).toHaveLength(280);
    expect((a as number[]).filter((port) => (b as number[]).includes(port))).toEqual([]);
  }, 90_000);

  it('lets two local stacks start at once, each on its own ports, each answering', async () => {
    const stacks = await Promise.all(
      [1, 2].map(async () => {
        const stack = await spawnStack(tempDataDir(), await freePorts());
        running.push(stack);
        return stack;
      }),
    );
    const ports = stacks.map((s) => Object.values(s.endpoints).map((url) => new URL(url).port));
    expect((ports[0] as string[]).filter((port) => (ports[1] as string[]).includes(port))).toEqual([]);
    for (const stack of stacks) {
      // An unsigned alert is refused by the stack's own gateway and handler: it is up and it is this one.
      const answer = await fetch(`${stack.endpoints.api}/webhooks/alertmanager`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(answer.status).toBe(401);
    }
  }, 120_000);
});
