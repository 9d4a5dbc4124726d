// The short ways for plain builders against the general code they stand in for, wherever they
// answer: the fast scan (table-refs.ts plainScan) against scanTableRefs() and the walk (walk.ts), and
// the short rewrite of plain reads (rewrite-plain-read.ts) against the general rewrite.
// White-box (the built modules, not the package's API): the SQL-level behaviour is covered by
// every scoped suite and the isolation fuzz, which take the short ways for most reads.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import knexFactory, { type Knex } from 'knex';
import { CompileRun, type ScopedPolicy } from '../../dist/knex/compile-run';
import type { BuilderLike } from '../../dist/knex/knex-internals';
import { checkRaw, type RawFinding } from '../../dist/knex/raw/check-raw';
import { rewriteAnyBuilder } from '../../dist/knex/rewrite';
import { rewritePlainRead } from '../../dist/knex/rewrite-plain-read';
import { TableMatcher } from '../../dist/knex/table-names';
import { plainScan, scanTableRefs } from '../../dist/knex/table-refs';
import { walkBuilder } from '../../dist/knex/walk';
import type { ScopeState } from '../../dist/scope-state';
import { ALL } from '../../dist/scope-values';
import { compileTablePolicies } from '../../dist/table-paths';

const knex = knexFactory({ client: 'pg' });
const policies = compileTablePolicies({
  pages: { tenant: 'tenant_id' },
  comments: { tenant: 'page_id -> pages.tenant_id' },
  bookmarks: { tenant: 'tenant_id', user: 'user_id' },
});
const matcher = new TableMatcher(policies, {});

type Op = (q: Knex.QueryBuilder) => Knex.QueryBuilder;
const sub = () => knex('comments').select('page_id');

// Plain operations (names and values) and the ones that must send a builder to the full scans.
const plainOps: Op[] = [
  (q) => q.select('id', 'title'),
  (q) => q.where('views', 3),
  (q) => q.where({ title: 'x', views: 1 }),
  (q) => q.orWhere('title', 'like', '%a%'),
  (q) => q.whereIn('id', [1, 2, 3]),
  (q) => q.whereNull('title'),
  (q) => q.whereBetween('views', [1, 9]),
  (q) => q.whereNot('id', 4),
  (q) => q.where((w) => w.where('id', 1).orWhere('id', 2)),
  (q) => q.orderBy('id', 'desc'),
  (q) => q.groupBy('title'),
  (q) => q.having('views', '>', 1),
  (q) => q.limit(10).offset(5),
  (q) => q.distinct('title'),
  (q) => q.count('id as n'),
  (q) =>
    q.union(function (this: Knex.QueryBuilder) {
      this.select('id').from('comments');
    }),
];
const otherOps: Op[] = [
  // raws in slots beside values and columns: _single fields and an operator
  (q) => q.offset(knex.raw('(select count(*) from pages)') as unknown as number),
  (q) => q.where('id', knex.raw('=') as unknown as string, 1),
  (q) => q.returning(knex.raw('(select 1 from pages)') as unknown as string),
  (q) => q.select(knex.raw('count(*) as n')),
  (q) => q.select({ t: 'title' }),
  (q) => q.where('title', knex.raw("'pages'")),
  (q) => q.whereRaw('id in (select page_id from comments)'),
  (q) => q.whereIn('id', sub()),
  (q) => q.whereExists(sub()),
  (q) => q.where('created', new Date(0)),
  (q) => q.join('comments', 'comments.page_id', 'pages.id'),
  (q) => q.leftJoin('comments as c', 'c.page_id', 'pages.id'),
  (q) => q.with('recent', sub()),
  (q) => q.with('recent', (w) => w.select('page_id').from('comments')),
  (q) => q.where(knex.raw('lower(title)'), '=', 'x'),
  (q) => q.where(knex.raw('(select max(id) from pages)'), '=', 1),
  (q) => q.orderByRaw('id desc'),
  (q) => q.union([sub()]),
];
const tables = ['pages', 'pages as p', 'public.pages', 'PAGES', 'comments', 'bookmarks', 'tenants'];
const finals: Op[] = [(q) => q, (q) => q.first(), (q) => q.pluck('id'), (q) => q.del()];

function build(table: string, ops: Op[], final: Op): BuilderLike {
  let q = knex(table);
  for (const op of ops) q = op(q);
  return final(q) as unknown as BuilderLike;
}

/** What the walk and the raw reader find: nothing, for a builder the fast scan takes. */
function walkFindings(builder: BuilderLike): Array<RawFinding | string> {
  const walked = walkBuilder(builder);
  const findings: Array<RawFinding | string> = [];
  for (const raw of walked.raws) checkRaw(raw, true, builder.client, matcher, findings as RawFinding[]);
  if (walked.raws.length > 0) findings.push(`${walked.raws.length} raw(s)`);
  if (walked.unknown !== undefined) findings.push(walked.unknown);
  return findings;
}

/** Up to six operations, most of them plain. */
const someOps = (plainWeight: number) =>
  fc.array(
    fc.oneof(
      { weight: plainWeight, arbitrary: fc.constantFrom(...plainOps) },
      { weight: 1, arbitrary: fc.constantFrom(...otherOps) },
    ),
    { maxLength: 6 },
  );

describe('the fast scan of plain builders', () => {
  after(() => knex.destroy());

  it('answers exactly as the full scans wherever it answers (property)', () => {
    let answered = 0;
    let declined = 0;
    fc.assert(
      fc.property(fc.constantFrom(...tables), someOps(4), fc.constantFrom(...finals), (t, ops, f) => {
        const builder = build(t, ops, f);
        const fast = plainScan(builder, matcher);
        if (fast === undefined) {
          declined++;
          return;
        }
        answered++;
        assert.deepEqual(fast, scanTableRefs(builder, matcher));
        assert.deepEqual(walkFindings(builder), []);
      }),
      { numRuns: 2000 },
    );
    // both branches were exercised, not just one
    assert.ok(answered > 200 && declined > 200, `answered ${answered}, declined ${declined}`);
  });

  it('takes the common reads, and leaves joins, CTEs, raw SQL, subqueries and objects to the full scans', () => {
    const plain = [
      knex('pages').select('id', 'title').orderBy('id').limit(10),
      knex('pages').where({ id: 1 }).first(),
      knex('pages as p').whereIn('id', [1, 2]).count('id as n'),
      knex('pages').where('id', 1).del(),
    ];
    for (const q of plain) {
      const scan = plainScan(q as unknown as BuilderLike, matcher);
      assert.equal(scan?.refs.length, 1, q.toString());
      assert.equal(scan?.refs[0]?.policy.table, 'pages');
    }
    assert.equal(plainScan(knex('tenants').select('id') as unknown as BuilderLike, matcher)?.refs.length, 0);
    for (const op of otherOps) {
      const q = op(knex('pages'));
      assert.equal(plainScan(q as unknown as BuilderLike, matcher), undefined, q.toString());
    }
    assert.equal(plainScan(knex.from(knex.raw('pages')) as unknown as BuilderLike, matcher), undefined);
    assert.equal(plainScan(knex.from(sub().as('s')) as unknown as BuilderLike, matcher), undefined);
  });
});

const policy: ScopedPolicy = {
  matcher,
  policies,
  mode: 'enforce',
  onEvent: undefined,
  paths: {
    subquery: () => {
      throw new Error('no FK path is compiled here');
    },
    joinTable: () => {
      throw new Error('no FK path is compiled here');
    },
  },
};
const state = (enabled: boolean, values: Record<string, unknown>) => ({ enabled, values }) as unknown as ScopeState;
const states: Array<ScopeState | undefined> = [
  undefined,
  state(true, {}),
  state(true, { tenant: 1 }),
  state(true, { tenant: 'acme' }),
  state(true, { tenant: 7n }),
  state(true, { tenant: [1, 2] }),
  state(true, { tenant: [] }),
  state(true, { tenant: ALL }),
  state(true, { tenant: 1, user: 9 }),
  state(true, { tenant: 1, user: ALL }),
  state(false, { tenant: 1 }),
];

/** What a rewrite makes of a builder: its SQL, null (unchanged), a refusal, or declined. */
type Outcome = { sql: string; bindings: unknown } | null | { error: string } | 'declined';

function outcome(builder: BuilderLike, rewrite: () => ReturnType<typeof rewriteAnyBuilder> | undefined): Outcome {
  let r: ReturnType<typeof rewriteAnyBuilder> | undefined;
  try {
    r = rewrite();
  } catch (error) {
    return { error: (error as { code?: string }).code ?? String(error) };
  }
  if (r === undefined) return 'declined';
  if (r === null) return null;
  const copy = (builder as unknown as Knex.QueryBuilder).clone() as unknown as BuilderLike & Knex.QueryBuilder;
  copy._statements = r.statements;
  copy._single = r.single;
  const { sql, bindings } = copy.toSQL() as Knex.Sql;
  return { sql, bindings };
}

function runFor(builder: BuilderLike, s: ScopeState | undefined, whole: boolean): CompileRun {
  const run = new CompileRun(policy, undefined, s, undefined);
  run.topMethod = builder._method;
  run.statement = whole ? builder : undefined;
  return run;
}

describe('the short rewrite of plain reads', () => {
  it('rewrites exactly as the general rewrite wherever it answers (property)', () => {
    let answered = 0;
    let declined = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(...tables),
        someOps(6),
        fc.constantFrom(...finals),
        fc.constantFrom(...states),
        fc.boolean(),
        (t, ops, f, s, whole) => {
          const builder = build(t, ops, f);
          const short = outcome(builder, () => rewritePlainRead(builder, runFor(builder, s, whole)));
          if (short === 'declined') {
            declined++;
            return;
          }
          answered++;
          const general = outcome(builder, () => rewriteAnyBuilder(builder, runFor(builder, s, whole)));
          assert.deepEqual(short, general, (builder as unknown as Knex.QueryBuilder).toString());
        },
      ),
      { numRuns: 3000 },
    );
    assert.ok(answered > 300 && declined > 300, `answered ${answered}, declined ${declined}`);
  });

  it('takes the read a request makes, and names the bare column in a whole statement', () => {
    const q = knex('pages').select('id', 'title').where('views', '>', 1).orderBy('id').limit(10);
    const builder = q as unknown as BuilderLike;
    const whole = outcome(builder, () => rewritePlainRead(builder, runFor(builder, state(true, { tenant: 3 }), true)));
    assert.deepEqual(whole, {
      sql: 'select "id", "title" from "pages" where "tenant_id" = ? and "views" > ? order by "id" asc limit ?',
      bindings: [3, 1, 10],
    });
    const nested = outcome(builder, () =>
      rewritePlainRead(builder, runFor(builder, state(true, { tenant: 3 }), false)),
    );
    assert.match((nested as { sql: string }).sql, / where "pages"\."tenant_id" = \? and "views" > \? /);
    // what it leaves to the general rewrite
    const declines = (b: Knex.QueryBuilder, s: ScopeState | undefined) =>
      rewritePlainRead(b as unknown as BuilderLike, runFor(b as unknown as BuilderLike, s, true)) === undefined;
    assert.ok(declines(knex('pages as p').select('id'), state(true, { tenant: 3 })), 'an alias');
    assert.ok(declines(knex('comments').select('id'), state(true, { tenant: 3 })), 'an FK path');
    assert.ok(declines(knex('pages').select('id'), state(true, { tenant: [3, 4] })), 'several keys');
    assert.ok(declines(knex('pages').select('id'), state(true, {})), 'no scope: the general code refuses');
    assert.ok(declines(knex('pages').select('id'), state(false, { tenant: 3 })), 'scopes disabled: a bypass event');
    assert.ok(declines(knex('pages').where('id', 1).del(), state(true, { tenant: 3 })), 'a write');
  });
});
