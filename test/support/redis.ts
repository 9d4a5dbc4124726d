// A throwaway Redis for the suites that need one (the BullMQ integration): a redis-server of the
// machine (Debian's package; .ci/run installs it), on a free loopback port, no persistence,
// started by the suite and stopped after it. It runs under the same watchdog as the test
// databases, so it cannot outlive the test run even if mocha is killed.
import { createConnection } from 'node:net';
import { findExecutable, isCi } from './db-dialects';
import { freePort, runCommand, serverDir, startWatched, type WatchedServer, waitUntilReady } from './db-process';

export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** e.g. "7.0.15" */
  readonly version: string;
  stop(): Promise<void>;
}

/** Sends PING on a fresh connection; resolves on +PONG. */
function ping(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    socket.setTimeout(1000, () => socket.destroy(new Error('PING timed out')));
    socket.on('error', reject);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (!reply.includes('\r\n')) return;
      socket.end();
      if (reply.startsWith('+PONG')) resolve();
      else reject(new Error(`PING answered ${JSON.stringify(reply.trim())}`));
    });
  });
}

/** Starts a redis-server; retries with another port if the one picked was taken meanwhile. */
export async function startRedis(binary: string | undefined = findExecutable(['redis-server'])): Promise<RedisServer> {
  if (!binary) throw new Error('redis-server is not on PATH (Debian: apt-get install redis-server)');
  const version = /v=(\S+)/.exec(await runCommand([binary, '--version'], '/'))?.[1] ?? 'unknown';
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const dir = serverDir(`redis-${port}`, undefined);
    // --save '' and --appendonly no: nothing is written; --dir keeps even a stray dump inside
    // the run dir, which the watchdog deletes.
    const argv = [binary, '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    const server: WatchedServer = startWatched({ dir, argv: [...argv, '--dir', dir], stopSignal: 'SIGTERM' });
    try {
      await waitUntilReady(server, `redis-server on port ${port}`, () => ping(port), 15_000);
    } catch (error) {
      lastError = error;
      await server.stop();
      continue;
    }
    return {
      host: '127.0.0.1',
      port,
      url: `redis://127.0.0.1:${port}`,
      version,
      stop: () => server.stop(),
    };
  }
  throw lastError;
}

/**
 * Declares `describe(title)` with a Redis started in its before() and stopped after its own
 * after() hooks (close every client there first). When redis-server is missing, or `unavailable`
 * names another missing piece (a client library), the suite is skipped with the reason, or
 * fails in CI. `redis()` is usable inside hooks and tests.
 */
export function describeWithRedis(
  title: string,
  body: (redis: () => RedisServer) => void,
  unavailable: () => string | undefined = () => undefined,
): void {
  const binary = findExecutable(['redis-server']);
  const missing = binary ? unavailable() : 'redis-server is not on PATH (Debian: apt-get install redis-server)';
  if (missing !== undefined && !isCi()) {
    describe.skip(`${title} (SKIPPED: ${missing})`, () => body(notStarted(title)));
    return;
  }
  let server: RedisServer | undefined;
  describe(title, () => {
    before(async function () {
      this.timeout(30_000);
      if (missing !== undefined) throw new Error(`Redis is required in CI: ${missing}`);
      server = await startRedis(binary);
    });
    body(() => server ?? notStarted(title)());
    // Declared after body() so that the suite's own after() hooks close their clients first.
    after(async () => {
      await server?.stop();
      server = undefined;
    });
  });
}

function notStarted(title: string): () => never {
  return () => {
    throw new Error(`the Redis of "${title}" is only usable inside its hooks and tests`);
  };
}
