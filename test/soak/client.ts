// The soak's HTTP client: many concurrent requests over keep-alive sockets, some of them
// abandoned by the client mid-response (the socket destroyed), as impatient browsers do.
import { Agent, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Call, Reply } from '../adapters/support/http-client';

export type Sent = { readonly kind: 'reply'; readonly reply: Reply } | { readonly kind: 'aborted' };

export interface SoakClient {
  /** `abortAfterMs`: destroy the request that long after the first response byte (or after sending). */
  send(call: Call, abortAfterMs?: number): Promise<Sent>;
  close(): void;
}

export function soakClient(server: Server, sockets: number): SoakClient {
  const agent = new Agent({ keepAlive: true, maxSockets: sockets });
  const { port } = server.address() as AddressInfo;
  const send = (call: Call, abortAfterMs?: number): Promise<Sent> =>
    new Promise((resolve, reject) => {
      const body = call.json === undefined ? undefined : Buffer.from(JSON.stringify(call.json));
      const headers: Record<string, string | number> = { ...call.headers };
      if (body) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = body.length;
      }
      let aborted = false;
      const abort = () => {
        aborted = true;
        req.destroy();
        resolve({ kind: 'aborted' });
      };
      const req = request(
        { host: '127.0.0.1', port, agent, method: call.method ?? 'GET', path: call.path, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            if (abortAfterMs !== undefined && chunks.length === 1) setTimeout(abort, abortAfterMs);
          });
          res.on('end', () => {
            if (aborted) return;
            const reply = { status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() };
            resolve({ kind: 'reply', reply });
          });
          res.on('error', (error) => (aborted ? undefined : reject(error)));
        },
      );
      req.on('error', (error) => (aborted ? undefined : reject(error)));
      req.end(body);
      // some aborts come before any byte of the response
      if (abortAfterMs !== undefined && abortAfterMs < 2) setTimeout(abort, abortAfterMs);
    });
  return { send, close: () => agent.destroy() };
}
