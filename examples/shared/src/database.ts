// Where the example keeps its data: an SQLite file by default, PostgreSQL or MySQL/MariaDB when
// DATABASE_URL says so.
import { mkdirSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import knex, { type Knex } from 'knex';

export interface DatabaseChoice {
  readonly config: Knex.Config;
  /** For the start-up banner; never shows a password. */
  readonly description: string;
}

function sqlite(filename: string): DatabaseChoice {
  return {
    config: {
      client: 'better-sqlite3',
      connection: { filename },
      useNullAsDefault: true,
      // SQLite leaves foreign keys off unless asked, per connection.
      pool: {
        afterCreate: (conn: { pragma(sql: string): unknown }, done: (error: Error | null, conn: unknown) => void) => {
          conn.pragma('foreign_keys = ON');
          done(null, conn);
        },
      },
    },
    description: `SQLite (${relative(process.cwd(), filename) || filename})`,
  };
}

function server(name: string, url: URL): string {
  return `${name} (${url.hostname}${url.port ? `:${url.port}` : ''}${url.pathname})`;
}

/**
 * `undefined` → an SQLite file at `defaultFile`; `sqlite:<path>` → that SQLite file;
 * `postgres://…` → PostgreSQL; `mysql://…` or `mariadb://…` → MySQL/MariaDB (mysql2 driver).
 */
export function chooseDatabase(databaseUrl: string | undefined, defaultFile: string): DatabaseChoice {
  if (!databaseUrl) return sqlite(defaultFile);
  if (databaseUrl.startsWith('sqlite:')) return sqlite(databaseUrl.slice('sqlite:'.length));
  const url = new URL(databaseUrl);
  if (url.protocol === 'postgres:' || url.protocol === 'postgresql:') {
    return { config: { client: 'pg', connection: databaseUrl }, description: server('PostgreSQL', url) };
  }
  if (url.protocol === 'mysql:' || url.protocol === 'mariadb:') {
    const connection = databaseUrl.replace(/^mariadb:/, 'mysql:');
    return { config: { client: 'mysql2', connection }, description: server('MySQL/MariaDB', url) };
  }
  throw new Error(`DATABASE_URL must start with postgres://, mysql://, mariadb:// or sqlite:, got ${url.protocol}`);
}

/** The unscoped Knex instance for a choice (creating the SQLite file's folder). */
export function openDatabase(choice: DatabaseChoice): Knex {
  const connection = choice.config.connection as { filename?: string } | undefined;
  if (choice.config.client === 'better-sqlite3' && connection?.filename) {
    mkdirSync(dirname(connection.filename), { recursive: true });
  }
  return knex(choice.config);
}
