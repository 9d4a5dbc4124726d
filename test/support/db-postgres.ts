// PostgreSQL for the tests: the server named by PG_URL / DATABASE_URL_PG, or one throwaway
// cluster per test run made with the local server binaries.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { adminKnex, type Backend, connectionFromUrl, type ServerConnection, serverBackend } from './db-backend';
import { asUser, freePort, runCommand, serverDir, serviceUser, startWatched, waitUntilReady } from './db-process';

export async function externalPostgres(env: string, url: string): Promise<Backend> {
  const connection = { database: 'postgres', ...connectionFromUrl(url, 5432) };
  const admin = adminKnex('pg', connection);
  return serverBackend({ dialect: 'pg', connection, admin, origin: `server from ${env}` });
}

export async function throwawayPostgres(binDir: string): Promise<Backend> {
  const user = serviceUser('postgres');
  if (process.getuid?.() === 0 && !user) throw new Error('running as root and there is no postgres user to run initdb');
  const dir = serverDir('pg', user);
  const data = join(dir, 'data');
  // -N: no fsync; trust auth is fine for a server that listens on loopback only and dies with us.
  await runCommand(
    [
      ...asUser(user),
      join(binDir, 'initdb'),
      ...['-D', data, '-U', 'postgres', '--auth=trust', '-N', '-E', 'UTF8', '--locale=C', '--no-instructions'],
    ],
    dir,
  ).catch((error) => {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  const port = await freePort();
  const server = startWatched({
    dir,
    stopSignal: 'SIGINT', // fast shutdown
    argv: [
      ...asUser(user),
      join(binDir, 'postgres'),
      ...['-D', data, '-h', '127.0.0.1', '-p', String(port), '-k', dir, '-F'],
      ...['-c', 'full_page_writes=off', '-c', 'synchronous_commit=off', '-c', 'max_connections=200'],
    ],
  });
  const connection: ServerConnection = { host: '127.0.0.1', port, user: 'postgres', database: 'postgres' };
  const admin = adminKnex('pg', connection);
  try {
    await waitUntilReady(server, 'postgres', () => admin.raw('select 1'));
    return await serverBackend({ dialect: 'pg', connection, admin, origin: 'throwaway cluster', stop: server.stop });
  } catch (error) {
    await admin.destroy();
    await server.stop();
    throw error;
  }
}
