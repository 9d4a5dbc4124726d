// The one way a throwaway server is brought up: make its data directory, start it under the
// watchdog on a free loopback port, wait until it answers, hand out databases on it.
import { rmSync } from 'node:fs';
import { adminKnex, type Backend, type ServerConnection, serverBackend } from './db-backend';
import { freePort, runCommand, startWatched, waitUntilReady } from './db-process';

export interface ThrowawayServer {
  readonly dialect: 'pg' | 'mysql';
  /** Owned by the server's user; deleted when the server stops. */
  readonly dir: string;
  /** Creates the data directory (initdb, mariadb-install-db). */
  readonly init: readonly string[];
  readonly server: (port: number) => readonly string[];
  /** The server's clean, quick shutdown signal. */
  readonly stopSignal: NodeJS.Signals;
  readonly connection: (port: number) => ServerConnection;
  /** For the header line, e.g. "throwaway cluster". */
  readonly origin: string;
}

export async function startThrowaway(spec: ThrowawayServer): Promise<Backend> {
  await runCommand(spec.init, spec.dir).catch((error) => {
    rmSync(spec.dir, { recursive: true, force: true });
    throw error;
  });
  const port = await freePort();
  const server = startWatched({ dir: spec.dir, stopSignal: spec.stopSignal, argv: spec.server(port) });
  const connection = spec.connection(port);
  const admin = adminKnex(spec.dialect, connection);
  try {
    await waitUntilReady(server, `${spec.dialect} server`, () => admin.raw('select 1'));
    return await serverBackend({ dialect: spec.dialect, connection, admin, origin: spec.origin, stop: server.stop });
  } catch (error) {
    await admin.destroy();
    await server.stop();
    throw error;
  }
}
