// How many rows a write touched, read from the driver's response that Knex leaves on the query
// object (`obj.response`, before its processResponse shapes what the app gets). Only the drivers
// the suite runs are read; a parent check travels inside a write only on those.
import type { ClientLike } from './knex-internals';

type Driver = 'pg' | 'mysql2' | 'better-sqlite3';

const DRIVERS: ReadonlySet<string> = new Set<Driver>(['pg', 'mysql2', 'better-sqlite3']);

/** The client's driver when its affected-row counts are known here (never a Knex subclass of another dialect). */
export function countingDriver(client: ClientLike): Driver | undefined {
  const name = (client as { driverName?: unknown }).driverName;
  return typeof name === 'string' && DRIVERS.has(name) ? (name as Driver) : undefined;
}

/** Rows the statement inserted or updated, or undefined when the response is not one this file knows. */
export function affectedRows(client: ClientLike, query: { response?: unknown }): number | undefined {
  const response = query.response as unknown;
  if (typeof response !== 'object' || response === null) return undefined;
  switch (countingDriver(client)) {
    case 'pg': {
      // a pg Result; `returning` rows are counted by rowCount too
      const count = (response as { rowCount?: unknown }).rowCount;
      return typeof count === 'number' ? count : undefined;
    }
    case 'mysql2': {
      // [ResultSetHeader, fields]
      const header = Array.isArray(response) ? (response[0] as { affectedRows?: unknown } | undefined) : undefined;
      return typeof header?.affectedRows === 'number' ? header.affectedRows : undefined;
    }
    case 'better-sqlite3': {
      // the rows of a statement with RETURNING, else the run() info
      if (Array.isArray(response)) return response.length;
      const changes = (response as { changes?: unknown }).changes;
      return typeof changes === 'number' ? changes : undefined;
    }
    default:
      return undefined;
  }
}
