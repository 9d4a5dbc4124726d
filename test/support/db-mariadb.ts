// MariaDB (or MySQL) for the tests: the server named by MYSQL_URL, or one throwaway MariaDB
// server per test run made with the local mariadbd and mariadb-install-db.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { adminKnex, type Backend, connectionFromUrl, type ServerConnection, serverBackend } from './db-backend';
import { asUser, freePort, runCommand, serverDir, serviceUser, startWatched, waitUntilReady } from './db-process';

export async function externalMysql(url: string): Promise<Backend> {
  const connection = connectionFromUrl(url, 3306);
  const admin = adminKnex('mysql', connection);
  return serverBackend({ dialect: 'mysql', connection, admin, origin: 'server from MYSQL_URL' });
}

// Settings shared by the bootstrap and the server: small files, no durability, no binlog.
const SPEED = ['--innodb-log-file-size=16M', '--innodb-doublewrite=0', '--innodb-flush-log-at-trx-commit=0'];

export async function throwawayMariadb(serverBin: string, installDbBin: string): Promise<Backend> {
  // As root, run as the mysql account; without one, mariadbd must be told to accept root.
  const user = serviceUser('mysql');
  const asRoot = process.getuid?.() === 0 && !user ? ['--user=root'] : [];
  const dir = serverDir('mysql', user);
  const data = join(dir, 'data');
  await runCommand(
    [
      ...asUser(user),
      installDbBin,
      ...['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db'],
      ...['--skip-name-resolve', ...asRoot, ...SPEED],
    ],
    dir,
  ).catch((error) => {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  const port = await freePort();
  const server = startWatched({
    dir,
    stopSignal: 'SIGTERM',
    argv: [
      ...asUser(user),
      serverBin,
      ...['--no-defaults', `--datadir=${data}`, `--socket=${join(dir, 'mysqld.sock')}`],
      ...[`--pid-file=${join(dir, 'mysqld.pid')}`, `--port=${port}`, '--bind-address=127.0.0.1', '--skip-name-resolve'],
      ...['--character-set-server=utf8mb4', '--collation-server=utf8mb4_unicode_ci', '--skip-log-bin'],
      ...['--innodb-buffer-pool-size=64M', '--max-connections=200', ...asRoot, ...SPEED],
    ],
  });
  // install-db made root@127.0.0.1 without a password.
  const connection: ServerConnection = { host: '127.0.0.1', port, user: 'root' };
  const admin = adminKnex('mysql', connection);
  try {
    await waitUntilReady(server, 'mariadbd', () => admin.raw('select 1'));
    return await serverBackend({ dialect: 'mysql', connection, admin, origin: 'throwaway server', stop: server.stop });
  } catch (error) {
    await admin.destroy();
    await server.stop();
    throw error;
  }
}
