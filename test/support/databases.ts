// Runs one test file against every available database dialect, each suite on a fresh, empty
// database of its own. See docs/testing.md.
import knex, { type Knex } from 'knex';
import type { TestDatabase } from './db-backend';
import type { Dialect } from './db-dialects';
import { backendFor, countSuite, dialectPlans, dialectStatuses, markUsed } from './db-registry';

export type { Dialect } from './db-dialects';
export { DIALECTS } from './db-dialects';
export type { DialectState, DialectStatus } from './db-registry';
export { dialectStatuses, statusLines } from './db-registry';

/** One suite's database. Usable inside hooks and tests (after the suite's own before()). */
export interface TestDb {
  readonly dialect: Dialect;
  /** The suite's Knex instance, connected to its fresh database; destroyed after the suite. */
  knex(): Knex;
  /** A new copy of the config behind knex(), to build another instance on the same database. */
  config(): Knex.Config;
  /** The database's name (`ks_<random>`). */
  database(): string;
}

/**
 * Declares `describe("<title> [<dialect>]")` for each selected dialect and calls `body` inside
 * it. An unavailable dialect that is not required gets a skipped describe, so its tests show
 * as pending; a required one fails in before().
 */
export function forEachDialect(title: string, body: (db: TestDb) => void): void {
  for (const plan of dialectPlans()) {
    const { dialect, source, required } = plan;
    if (source.kind === 'deselected') continue;
    const db = new SuiteDb(dialect, `${title} [${dialect}]`);
    if (source.kind === 'missing' && !required) {
      describe.skip(`${db.title} (SKIPPED: ${source.reason})`, () => body(db));
      continue;
    }
    markUsed(dialect);
    describe(db.title, () => {
      before(async function () {
        this.timeout(120_000); // covers a server's first start when no global setup did it
        let backend: Awaited<ReturnType<typeof backendFor>>;
        try {
          backend = await backendFor(dialect);
        } catch (error) {
          if (required) throw error;
          console.log(`[databases] ${dialect}: SKIPPED ${db.title}: ${(error as Error).message.split('\n', 1)[0]}`);
          this.skip();
        }
        await db.open(await backend.createDatabase());
        countSuite(dialect);
      });
      body(db);
      // Declared after body(db) so the suite's own after() hooks still have the database.
      after(() => db.close());
    });
  }
}

/** Dialects whose suites will run (a started server, or one that can be started). */
export function availableDialects(): Dialect[] {
  return dialectStatuses()
    .filter((status) => status.state === 'ready' || status.state === 'unused')
    .map((status) => status.dialect);
}

class SuiteDb implements TestDb {
  #database: TestDatabase | undefined;
  #knex: Knex | undefined;

  constructor(
    readonly dialect: Dialect,
    readonly title: string,
  ) {}

  async open(database: TestDatabase): Promise<void> {
    this.#database = database;
    this.#knex = knex(database.config());
  }

  async close(): Promise<void> {
    const instance = this.#knex;
    const database = this.#database;
    this.#knex = undefined;
    this.#database = undefined;
    await instance?.destroy();
    await database?.drop();
  }

  knex(): Knex {
    if (!this.#knex) throw this.#notOpen('knex()');
    return this.#knex;
  }

  config(): Knex.Config {
    if (!this.#database) throw this.#notOpen('config()');
    return this.#database.config();
  }

  database(): string {
    if (!this.#database) throw this.#notOpen('database()');
    return this.#database.name;
  }

  #notOpen(what: string): Error {
    return new Error(`db.${what} of "${this.title}" is only usable inside its hooks and tests`);
  }
}
