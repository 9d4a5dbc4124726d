// Cost of the write guards: INSERTs of 1, 100 and 1 000 rows and a one-row UPDATE, plain Knex vs
// the scoped instance. Direct tenant column (stamping) and FK path (the parent check). SQLite in
// memory by default (no network: the guards' CPU shows most); `--dialect pg|mysql` runs the same
// over TCP against the test suite's throwaway PostgreSQL / MariaDB (or PG_URL / MYSQL_URL), one
// pooled connection shared by every variant. Interleaved rounds, median ms per statement; the
// ratio is the median of the per-round ratios; the last column counts the statements one scoped
// write sent (the plain one sends 1 per chunk). The one-row path writes also run with the parent
// check written by hand into the statement, through plain Knex ("hand-checked"): what checking in
// the database costs at all, whoever writes it.
// Usage: tsx bench/writes.ts [--quick] [--dialect sqlite|pg|mysql|sqlite,pg,mysql] [--rounds 15]
import { defineScopes, scope } from '@knex-scopes/core';
import knexFactory, { type Knex } from 'knex';
import { backendFor, stopAll } from '../test/support/db-registry';

type Dialect = 'sqlite' | 'pg' | 'mysql';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const quick = process.argv.includes('--quick');
const ROUNDS = Number(arg('rounds') ?? (quick ? 5 : 15));
const WARMUP = quick ? 1 : 4;

export interface WriteBenchRow {
  readonly name: string;
  readonly rows: number;
  readonly plain: number;
  readonly scoped: number;
  /** Median of the per-round ratios (each round's pair ran back to back: drift cancels). */
  readonly ratio: number;
  /** The hand-checked write: median ms, and the median per-round ratio of scoped to it. */
  readonly hand?: { readonly ms: number; readonly scopedRatio: number } | undefined;
  /** Statements one scoped write sent (the plain write sends one). */
  readonly statements: number;
}

interface Opened {
  readonly base: Knex;
  readonly description: string;
  close(): Promise<void>;
}

async function open(dialect: Dialect): Promise<Opened> {
  if (dialect === 'sqlite') {
    const base = knexFactory({
      client: 'better-sqlite3',
      connection: { filename: ':memory:' },
      useNullAsDefault: true,
    });
    return { base, description: 'better-sqlite3 in memory', close: () => base.destroy() };
  }
  const backend = await backendFor(dialect);
  const database = await backend.createDatabase();
  // one connection: plain and scoped writes take turns on it
  const base = knexFactory({ ...database.config(), pool: { min: 1, max: 1 } });
  return {
    base,
    description: `${backend.description.replace(/^.*\((.*)\)$/, '$1')} over TCP`,
    close: async () => {
      await base.destroy();
      await database.drop();
    },
  };
}

async function setup(base: Knex): Promise<Knex> {
  await base.schema.createTable('pages', (t) => {
    t.increments('id');
    t.integer('tenant_id').notNullable().index(); // the index docs/doctor.md asks for
    t.string('title');
  });
  await base.schema.createTable('comments', (t) => {
    t.increments('id');
    t.integer('page_id').notNullable();
    t.string('body');
  });
  await base('pages').insert(Array.from({ length: 20 }, (_, i) => ({ tenant_id: 1 + (i % 2), title: `p${i}` })));
  await base('comments').insert({ page_id: 1, body: 'updated in place' });
  return defineScopes({
    tables: { pages: { tenant: 'tenant_id' }, comments: { tenant: 'page_id -> pages.tenant_id' } },
  }).wrap(base);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function time(fn: () => Promise<unknown>, repeat: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < repeat; i++) await fn();
  return Number(process.hrtime.bigint() - start) / 1e6 / repeat;
}

/** Statements `db` sends for one call of `fn`. */
async function countStatements(db: Knex, fn: () => Promise<unknown>): Promise<number> {
  let n = 0;
  const listener = () => n++;
  db.on('query', listener);
  try {
    await fn();
  } finally {
    db.off('query', listener);
  }
  return n;
}

interface Case {
  readonly name: string;
  readonly rows: number;
  readonly repeat: number;
  plain(): Promise<unknown>;
  scoped(): Promise<unknown>;
  /** The same write with its parent check written by hand into it, through plain Knex. */
  hand?: (() => Promise<unknown>) | undefined;
}

function cases(dialect: Dialect, base: Knex, db: Knex): Case[] {
  const out: Case[] = [];
  // Knex writes a SQLite batch as one compound SELECT (at most 500 terms): chunks of 400 there
  const chunk = dialect === 'sqlite' ? 400 : 1000;
  for (const rows of [1, 100, 1000]) {
    const scale = dialect === 'sqlite' ? 1 : 0.25; // a round trip per statement: fewer repeats
    const repeat = Math.max(2, Math.round((rows === 1 ? 200 : rows === 100 ? 20 : 3) * scale));
    const pages = Array.from({ length: rows }, (_, i) => ({ title: `n${i}` }));
    // tenant 1 owns the odd page ids
    const comments = Array.from({ length: rows }, (_, i) => ({ page_id: 1 + 2 * (i % 10), body: `c${i}` }));
    const insert = (k: Knex, table: string, data: object[], stamp: boolean) => async () => {
      for (let i = 0; i < data.length; i += chunk) {
        const part = data.slice(i, i + chunk);
        await k(table).insert(stamp ? part.map((r) => ({ ...r, tenant_id: 1 })) : part);
      }
    };
    const dual = dialect === 'mysql' ? ' from dual' : '';
    out.push({
      name: 'insert comments (FK path)',
      rows,
      repeat,
      plain: insert(base, 'comments', comments, false),
      scoped: insert(db, 'comments', comments, false),
      ...(rows === 1 && {
        hand: () =>
          base.raw(
            `insert into comments (body, page_id) select ?, ?${dual} where exists (select 1 from pages where pages.id = ? and pages.tenant_id = ?)`,
            ['c0', 1, 1, 1],
          ),
      }),
    });
    if (rows === 1) {
      // before the stamped inserts grow the tenant's pages: the scoped UPDATE's own row filter
      // (`page_id in (select id from pages where tenant_id = ?)`) reads them all on SQLite
      let n = 0;
      const update = (k: Knex) => () =>
        k('comments')
          .where('id', 1)
          .update({ page_id: 1 + 2 * (n++ % 10) });
      const hand = () => {
        const page = 1 + 2 * (n++ % 10);
        return base.raw(
          'update comments set page_id = ? where id = ? and page_id in (select id from pages where tenant_id = ?) ' +
            'and exists (select 1 from pages where pages.id = ? and pages.tenant_id = ?)',
          [page, 1, 1, page, 1],
        );
      };
      out.push({
        name: 'update comments.page_id by id (FK path)',
        rows,
        repeat,
        plain: update(base),
        scoped: update(db),
        hand,
      });
    }
    out.push({
      name: 'insert pages (stamped tenant)',
      rows,
      repeat,
      plain: insert(base, 'pages', pages, true),
      scoped: insert(db, 'pages', pages, false),
    });
  }
  return out;
}

export async function runWriteBench(
  dialect: Dialect = 'sqlite',
): Promise<{ description: string; rows: WriteBenchRow[] }> {
  const { base, description, close } = await open(dialect);
  try {
    const db = await setup(base);
    const out: WriteBenchRow[] = [];
    for (const c of cases(dialect, base, db)) {
      const variants = c.hand
        ? { plain: c.plain, scoped: c.scoped, hand: c.hand }
        : { plain: c.plain, scoped: c.scoped };
      const ms: Record<string, number[]> = { plain: [], scoped: [], hand: [] };
      const ratios: number[] = [];
      const handRatios: number[] = [];
      let statements = 0;
      await scope({ tenant: 1 }, async () => {
        statements = await countStatements(db, c.scoped);
        // V8 tiers a path up over thousands of calls: warm every variant as long as a few rounds
        for (let w = 0; w < WARMUP; w++) for (const fn of Object.values(variants)) await time(fn, c.repeat);
        for (let r = 0; r < ROUNDS; r++) {
          // rotate which goes first, so none always runs on another's warm caches
          const order = Object.entries(variants);
          for (let i = 0; i < r % order.length; i++) order.push(order.shift() as (typeof order)[number]);
          const round: Record<string, number> = {};
          for (const [name, fn] of order) {
            round[name] = await time(fn, c.repeat);
            ms[name]?.push(round[name] as number);
          }
          ratios.push((round.scoped as number) / (round.plain as number));
          if (c.hand) handRatios.push((round.scoped as number) / (round.hand as number));
        }
      });
      out.push({
        name: c.name,
        rows: c.rows,
        plain: median(ms.plain as number[]),
        scoped: median(ms.scoped as number[]),
        ratio: median(ratios),
        hand: c.hand && { ms: median(ms.hand as number[]), scopedRatio: median(handRatios) },
        statements,
      });
    }
    return { description, rows: out };
  } finally {
    await close();
  }
}

async function main(): Promise<void> {
  const dialects = (arg('dialect') ?? 'sqlite').split(',') as Dialect[];
  try {
    for (const dialect of dialects) {
      const { description, rows } = await runWriteBench(dialect);
      console.log(
        `\nwrite bench: ${description}, Node ${process.version}, median of ${ROUNDS} interleaved rounds` +
          (dialect === 'sqlite' ? ' (batches in chunks of 400)' : ''),
      );
      console.log(
        '| write | rows | plain ms | scoped ms | scoped − plain ms | scoped / plain | hand-checked ms | scoped / hand-checked | statements (scoped) |',
      );
      console.log('|---|---|---|---|---|---|---|---|---|');
      for (const r of rows) {
        const hand = r.hand ? `${r.hand.ms.toFixed(3)} | ${r.hand.scopedRatio.toFixed(2)}×` : '— | —';
        console.log(
          `| ${r.name} | ${r.rows} | ${r.plain.toFixed(3)} | ${r.scoped.toFixed(3)} | ${(r.scoped - r.plain).toFixed(3)} | ${r.ratio.toFixed(2)}× | ${hand} | ${r.statements} |`,
        );
      }
    }
  } finally {
    if (dialects.some((d) => d !== 'sqlite')) await stopAll();
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
