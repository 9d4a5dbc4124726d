// Which catalog reader a Knex instance needs.
import type { Knex } from 'knex';
import { DoctorError } from './doctor-error';
import { introspectMysql } from './introspect-mysql';
import { introspectPg } from './introspect-pg';
import { introspectSqlite } from './introspect-sqlite';
import type { Dialect, LiveSchema } from './live-schema';

const DIALECTS: Readonly<Record<string, Dialect>> = {
  sqlite3: 'sqlite',
  'better-sqlite3': 'sqlite',
  postgresql: 'pg',
  postgres: 'pg',
  pg: 'pg',
  mysql: 'mysql',
  mysql2: 'mysql',
};

export function dialectOf(knex: Knex): Dialect {
  const client = knex.client as { dialect?: unknown; config?: { client?: unknown } };
  // Knex's client classes name their dialect; a client given as a class has no string config.
  const names = [client.dialect, client.config?.client].filter((n): n is string => typeof n === 'string');
  for (const name of names) {
    const dialect = DIALECTS[name.toLowerCase()];
    if (dialect) return dialect;
  }
  throw new DoctorError(
    'UNSUPPORTED_DIALECT',
    `the doctor reads SQLite, PostgreSQL and MySQL/MariaDB catalogs; this Knex client is ${names.join(' / ') || 'unknown'}`,
  );
}

export function introspect(knex: Knex, dialect: Dialect, schema?: string): Promise<LiveSchema> {
  switch (dialect) {
    case 'sqlite':
      return introspectSqlite(knex);
    case 'pg':
      return introspectPg(knex, schema);
    case 'mysql':
      return introspectMysql(knex, schema);
  }
}
