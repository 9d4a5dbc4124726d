// A throwaway PgBouncer (Debian's package; .ci/run installs it) in transaction pooling mode, in
// front of a test PostgreSQL, on a free loopback port: started by the suite that needs it, stopped
// after it, under the same watchdog as the test databases. Missing pgbouncer skips the suite with
// the reason, or fails it in CI (the same rule as redis.ts).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import knex from 'knex';
import { findExecutable, isCi } from './db-dialects';
import { asUser, freePort, runCommand, serverDir, serviceUser, startWatched, waitUntilReady } from './db-process';

export interface PgBouncerUser {
  readonly name: string;
  /** Sent to the server when it asks for one (the throwaway cluster trusts loopback). */
  readonly password?: string;
}

export interface PgBouncerOptions {
  /** The PostgreSQL server it pools. */
  readonly host: string;
  readonly port: number;
  /** The roles that may connect (its auth_file). */
  readonly users: readonly PgBouncerUser[];
  /** Server connections per database and user (default 2: many clients share few connections). */
  readonly poolSize?: number;
}

export interface PgBouncer {
  readonly host: string;
  readonly port: number;
  /** e.g. "1.18.0" */
  readonly version: string;
  stop(): Promise<void>;
}

const quoted = (text: string) => `"${text.replaceAll('"', '""')}"`;

/** Starts a PgBouncer; retries with another port if the one picked was taken meanwhile. */
export async function startPgBouncer(
  options: PgBouncerOptions,
  binary: string | undefined = findExecutable(['pgbouncer']),
): Promise<PgBouncer> {
  if (!binary) throw new Error('pgbouncer is not on PATH (Debian: apt-get install pgbouncer)');
  const version = /PgBouncer (\S+)/.exec(await runCommand([binary, '--version'], '/'))?.[1] ?? 'unknown';
  // PgBouncer refuses to run as root: as PostgreSQL, it runs as the service user then.
  const user = serviceUser('postgres');
  if (process.getuid?.() === 0 && !user)
    throw new Error('running as root and there is no postgres user to run pgbouncer');
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const dir = serverDir(`pgbouncer-${port}`, user);
    const users = join(dir, 'users.txt');
    const config = join(dir, 'pgbouncer.ini');
    // auth_type trust: clients are not asked for a password; the auth_file lists who may connect,
    // with the password PgBouncer gives the server if it asks (md5/scram servers).
    writeFileSync(users, options.users.map((u) => `${quoted(u.name)} ${quoted(u.password ?? '')}\n`).join(''), {
      mode: 0o600,
    });
    writeFileSync(
      config,
      [
        '[databases]',
        `* = host=${options.host} port=${options.port}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        `unix_socket_dir = ${dir}`,
        'auth_type = trust',
        `auth_file = ${users}`,
        'pool_mode = transaction',
        `default_pool_size = ${options.poolSize ?? 2}`,
        'min_pool_size = 0',
        'reserve_pool_size = 0',
        'max_client_conn = 2000',
        'max_db_connections = 0',
        'ignore_startup_parameters = extra_float_digits,options,search_path',
        'server_reset_query =',
        'log_connections = 0',
        'log_disconnections = 0',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    if (user) {
      const { chownSync } = await import('node:fs');
      chownSync(users, user.uid, user.gid);
      chownSync(config, user.uid, user.gid);
    }
    const server = startWatched({ dir, argv: [...asUser(user), binary, config], stopSignal: 'SIGINT' });
    const probe = knex({
      client: 'pg',
      connection: { host: '127.0.0.1', port, user: options.users[0]?.name, database: 'postgres' },
      pool: { min: 0, max: 1 },
      // refused connections are expected while it starts
      log: { warn: () => {}, error: () => {}, deprecate: () => {}, debug: () => {} },
    });
    try {
      await waitUntilReady(server, `pgbouncer on port ${port}`, () => probe.raw('select 1'), 15_000);
    } catch (error) {
      lastError = error;
      await server.stop();
      continue;
    } finally {
      await probe.destroy();
    }
    return { host: '127.0.0.1', port, version, stop: () => server.stop() };
  }
  throw lastError;
}

/**
 * Declares `describe(title)` whose body gets `start(options)`: the suite starts its PgBouncer
 * when it knows the server and the roles, and it is stopped after the suite's own after() hooks.
 * When pgbouncer is missing the suite is skipped with the reason, or fails in CI.
 */
export function describeWithPgBouncer(
  title: string,
  body: (start: (options: PgBouncerOptions) => Promise<PgBouncer>) => void,
): void {
  const binary = findExecutable(['pgbouncer']);
  const missing = binary ? undefined : 'pgbouncer is not on PATH (Debian: apt-get install pgbouncer)';
  if (missing !== undefined && !isCi()) {
    describe.skip(`${title} (SKIPPED: ${missing})`, () => body(() => Promise.reject(new Error(missing))));
    return;
  }
  const started: PgBouncer[] = [];
  describe(title, () => {
    before(() => {
      if (missing !== undefined) throw new Error(`PgBouncer is required in CI: ${missing}`);
    });
    body(async (options) => {
      const bouncer = await startPgBouncer(options, binary);
      started.push(bouncer);
      return bouncer;
    });
    // Declared after body() so that the suite's own after() hooks close their clients first.
    after(async () => {
      await Promise.all(started.splice(0).map((b) => b.stop()));
    });
  });
}
