/** Starting and stopping the local HTTP servers (emulators, gateway, stand-ins) the same way. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Binds `server` to `host:port` (0 picks a free port) and answers the port it got. */
export function listen(server: Server, port: number, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

/** Stops `server` without waiting for idle keep-alive connections to time out. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
}
