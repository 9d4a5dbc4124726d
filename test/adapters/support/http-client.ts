// A bare keep-alive HTTP client for the soak: many concurrent requests over reused sockets,
// any Host header, the whole body buffered.

import type { Server } from 'node:http';
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

export interface Call {
  readonly method?: 'GET' | 'POST';
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly json?: unknown;
}

export function clientFor(server: Server, sockets = 64) {
  const agent = new Agent({ keepAlive: true, maxSockets: sockets });
  const { port } = server.address() as AddressInfo;
  const send = (call: Call): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const body = call.json === undefined ? undefined : Buffer.from(JSON.stringify(call.json));
      const headers: Record<string, string | number> = { ...call.headers };
      if (body) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = body.length;
      }
      const req = request(
        { host: '127.0.0.1', port, agent, method: call.method ?? 'GET', path: call.path, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return { send, close: () => agent.destroy() };
}
