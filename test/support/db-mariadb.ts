// MariaDB (or MySQL) for the tests: the server named by MYSQL_URL, or one throwaway MariaDB
// server per test run made with the local mariadbd and mariadb-install-db.
import { join } from 'node:path';
import { adminKnex, type Backend, connectionFromUrl, serverBackend } from './db-backend';
import { asUser, serverDir, serviceUser } from './db-process';
import { startThrowaway } from './db-throwaway';

export async function externalMysql(url: string): Promise<Backend> {
  const connection = connectionFromUrl(url, 3306);
  const admin = adminKnex('mysql', connection);
  return serverBackend({ dialect: 'mysql', connection, admin, origin: 'server from MYSQL_URL' });
}

// Settings shared by the bootstrap and the server: small files, no durability.
const SPEED = ['--innodb-log-file-size=16M', '--innodb-doublewrite=0', '--innodb-flush-log-at-trx-commit=0'];

export function throwawayMariadb(serverBin: string, installDbBin: string): Promise<Backend> {
  // As root, run as the mysql account; without one, mariadbd must be told to accept root.
  const user = serviceUser('mysql');
  const asRoot = process.getuid?.() === 0 && !user ? ['--user=root'] : [];
  const dir = serverDir('mysql', user);
  const data = join(dir, 'data');
  return startThrowaway({
    dialect: 'mysql',
    dir,
    origin: 'throwaway server',
    init: [
      ...asUser(user),
      installDbBin,
      ...['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db'],
      ...['--skip-name-resolve', ...asRoot, ...SPEED],
    ],
    server: (port) => [
      ...asUser(user),
      serverBin,
      ...['--no-defaults', `--datadir=${data}`, `--socket=${join(dir, 'mysqld.sock')}`],
      ...[`--pid-file=${join(dir, 'mysqld.pid')}`, `--port=${port}`, '--bind-address=127.0.0.1', '--skip-name-resolve'],
      // its own tmpdir: a starting mariadbd deletes every `#sql*` file in its tmpdir, which, in
      // a shared /tmp, are the on-disk temporary tables of the other servers running
      `--tmpdir=${dir}`,
      ...['--character-set-server=utf8mb4', '--collation-server=utf8mb4_unicode_ci', '--skip-log-bin'],
      ...['--innodb-buffer-pool-size=64M', '--max-connections=200', ...asRoot, ...SPEED],
    ],
    stopSignal: 'SIGTERM',
    // install-db made root@127.0.0.1 without a password.
    connection: (port) => ({ host: '127.0.0.1', port, user: 'root' }),
  });
}
