// PostgreSQL for the tests: the server named by PG_URL / DATABASE_URL_PG, or one throwaway
// cluster per test run made with the local server binaries.
import { join } from 'node:path';
import { adminKnex, type Backend, connectionFromUrl, serverBackend } from './db-backend';
import { asUser, serverDir, serviceUser } from './db-process';
import { startThrowaway } from './db-throwaway';

export async function externalPostgres(env: string, url: string): Promise<Backend> {
  const connection = { database: 'postgres', ...connectionFromUrl(url, 5432) };
  const admin = adminKnex('pg', connection);
  return serverBackend({ dialect: 'pg', connection, admin, origin: `server from ${env}` });
}

export function throwawayPostgres(binDir: string): Promise<Backend> {
  const user = serviceUser('postgres');
  if (process.getuid?.() === 0 && !user) {
    return Promise.reject(new Error('running as root and there is no postgres user to run initdb'));
  }
  const dir = serverDir('pg', user);
  const data = join(dir, 'data');
  return startThrowaway({
    dialect: 'pg',
    dir,
    origin: 'throwaway cluster',
    // -N: no fsync; trust auth is fine for a server that listens on loopback only and dies with us.
    init: [
      ...asUser(user),
      join(binDir, 'initdb'),
      ...['-D', data, '-U', 'postgres', '--auth=trust', '-N', '-E', 'UTF8', '--locale=C', '--no-instructions'],
    ],
    server: (port) => [
      ...asUser(user),
      join(binDir, 'postgres'),
      ...['-D', data, '-h', '127.0.0.1', '-p', String(port), '-k', dir, '-F'],
      ...['-c', 'full_page_writes=off', '-c', 'synchronous_commit=off', '-c', 'max_connections=200'],
    ],
    stopSignal: 'SIGINT', // fast shutdown
    connection: (port) => ({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' }),
  });
}
