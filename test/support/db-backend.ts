// A backend hands out fresh, empty databases of one dialect. Server dialects share one shape:
// an admin connection that creates and drops `ks_<random>` databases on a server.
import { randomBytes } from 'node:crypto';
import knex, { type Knex } from 'knex';
import type { Dialect } from './db-dialects';

export interface TestDatabase {
  readonly name: string;
  /** A new config object each call, connecting to this database. */
  config(): Knex.Config;
  drop(): Promise<void>;
}

export interface Backend {
  readonly dialect: Dialect;
  /** One line for the run header, e.g. "throwaway cluster on 127.0.0.1:5432 (PostgreSQL 15.8)". */
  readonly description: string;
  createDatabase(): Promise<TestDatabase>;
  /** Closes admin connections and stops a server this run started. */
  close(): Promise<void>;
}

/** How to reach a server: the admin database in `database`. */
export interface ServerConnection {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password?: string;
  readonly database?: string;
}

export function databaseName(): string {
  return `ks_${randomBytes(5).toString('hex')}`;
}

/** Host, port, user, password and admin database from a postgres:// or mysql:// URL. */
export function connectionFromUrl(url: string, defaultPort: number): ServerConnection {
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : defaultPort,
    user: decodeURIComponent(parsed.username),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(database ? { database } : {}),
  };
}

interface ServerDialect {
  readonly dialect: 'pg' | 'mysql';
  readonly client: 'pg' | 'mysql2';
  readonly versionSql: string;
  readonly createSql: string;
  /** Must succeed while test connections are still open (a leaked Knex instance). */
  readonly dropSql: string;
}

const SERVER_DIALECTS: Record<'pg' | 'mysql', ServerDialect> = {
  pg: {
    dialect: 'pg',
    client: 'pg',
    versionSql: 'show server_version',
    createSql: 'create database ??',
    dropSql: 'drop database if exists ?? with (force)',
  },
  mysql: {
    dialect: 'mysql',
    client: 'mysql2',
    versionSql: 'select version() as server_version',
    createSql: 'create database ?? character set utf8mb4 collate utf8mb4_unicode_ci',
    dropSql: 'drop database if exists ??',
  },
};

export function knexConfig(dialect: 'pg' | 'mysql', connection: ServerConnection): Knex.Config {
  return {
    client: SERVER_DIALECTS[dialect].client,
    connection: { ...connection },
    // min 0: suites run one after another, idle connections of finished ones are not kept.
    pool: { min: 0, max: 10 },
    acquireConnectionTimeout: 10_000,
  };
}

/** Admin connection for a server. Quiet: it is polled while the server starts, and its errors
 * reach the caller anyway. */
export function adminKnex(dialect: 'pg' | 'mysql', connection: ServerConnection): Knex {
  const quiet = () => {};
  return knex({
    ...knexConfig(dialect, connection),
    // Idle connections close soon, so a run without --exit and without the global teardown
    // is not held open by them.
    pool: { min: 0, max: 2, idleTimeoutMillis: 500 },
    acquireConnectionTimeout: 3000,
    log: { warn: quiet, error: quiet, debug: quiet, deprecate: quiet },
  });
}

export async function serverVersion(dialect: 'pg' | 'mysql', admin: Knex): Promise<string> {
  const result = await admin.raw(SERVER_DIALECTS[dialect].versionSql);
  const rows: Array<{ server_version: string }> = dialect === 'pg' ? result.rows : result[0];
  return rows[0]!.server_version;
}

export interface ServerBackendOptions {
  readonly dialect: 'pg' | 'mysql';
  readonly connection: ServerConnection;
  readonly admin: Knex;
  /** Where the server comes from, e.g. "throwaway cluster" or "server from PG_URL". */
  readonly origin: string;
  /** Stops a server this run started. */
  readonly stop?: () => Promise<void>;
}

export async function serverBackend(options: ServerBackendOptions): Promise<Backend> {
  const { dialect, connection, admin } = options;
  const sql = SERVER_DIALECTS[dialect];
  const raw = await serverVersion(dialect, admin);
  const product = dialect === 'pg' ? 'PostgreSQL' : raw.includes('MariaDB') ? 'MariaDB' : 'MySQL';
  const version = raw.split(/[ -]/)[0];
  return {
    dialect,
    description: `${options.origin} on ${connection.host}:${connection.port} (${product} ${version})`,
    async createDatabase() {
      const name = databaseName();
      await admin.raw(sql.createSql, [name]);
      return {
        name,
        config: () => knexConfig(dialect, { ...connection, database: name }),
        drop: async () => {
          await admin.raw(sql.dropSql, [name]);
        },
      };
    },
    async close() {
      await admin.destroy();
      await options.stop?.();
    },
  };
}
