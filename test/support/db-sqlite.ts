// SQLite for the tests: one better-sqlite3 database file per suite, on tmpfs when the machine has
// one. Not ':memory:': every Knex instance built from db.config() must see the same database,
// as on the server dialects, and a ':memory:' database is private to one connection.
import { accessSync, constants, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { type Backend, databaseName } from './db-backend';
import { runDir, SHM } from './db-process';

function memoryBacked(): boolean {
  try {
    accessSync(SHM, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

interface SqliteConnection {
  pragma(source: string): unknown;
}

export function sqliteBackend(): Backend {
  const onShm = memoryBacked();
  const dir = join(runDir(onShm ? SHM : undefined), 'sqlite');
  mkdirSync(dir, { recursive: true });
  const version = (require('better-sqlite3/package.json') as { version: string }).version;
  return {
    dialect: 'sqlite',
    description: `better-sqlite3 ${version}, a fresh database file per suite in ${onShm ? `${SHM} (memory-backed)` : dir}`,
    async createDatabase() {
      const name = databaseName();
      const filename = join(dir, `${name}.sqlite`);
      return {
        name,
        config: (): Knex.Config => ({
          client: 'better-sqlite3',
          connection: { filename },
          useNullAsDefault: true,
          pool: {
            // Like the server dialects: foreign keys enforced. Durability is not wanted here.
            afterCreate(connection: SqliteConnection, done: (error: Error | null, connection: unknown) => void) {
              connection.pragma('foreign_keys = ON');
              connection.pragma('synchronous = OFF');
              done(null, connection);
            },
          },
        }),
        drop: async () => {
          for (const suffix of ['', '-journal', '-wal', '-shm']) rmSync(`${filename}${suffix}`, { force: true });
        },
      };
    },
    async close() {
      rmSync(onShm ? join(dir, '..') : dir, { recursive: true, force: true });
    },
  };
}
