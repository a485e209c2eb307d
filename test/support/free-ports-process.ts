/**
 * A process that takes ports as a test stack would: `rounds` calls of freePorts, every port then
 * listened on at once, and prints `PORTS <json>`; it holds them until it is killed.
 */
import { createServer, type Server } from 'node:net';
import { freePorts } from './local-stack.ts';

const rounds = Number(process.argv[2] ?? 1);
const ports: number[] = [];
for (let i = 0; i < rounds; i++) ports.push(...(Object.values(await freePorts()) as number[]));
const servers: Server[] = [];
for (const port of ports) {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  servers.push(server);
}
console.log(`PORTS ${JSON.stringify(ports)}`);
