// Nothing unknown passes (issue 21): every method of the installed Knex's builders is classified
// (core/src/knex/classify.ts), what each statement method stores is a shape the walk knows, and a
// shape that is not (a new Knex release's, a plugin's) is refused, never sent unchecked.
import assert from 'node:assert/strict';
import { defineScopes, isScopeError, scope, scopesDisabled } from '@knex-scopes/core';
import knexFactory, { type Knex } from 'knex';
import { BUILDER_METHODS, unknownShape } from '../../dist/knex/classify';
import type { BuilderLike } from '../../dist/knex/knex-internals';
import { walkBuilder } from '../../dist/knex/walk';

const clients = ['pg', 'better-sqlite3', 'mysql2'] as const;
const classified = new Set<string>(Object.values(BUILDER_METHODS).flat());

function methodsOf(value: object): string[] {
  const names = new Set<string>();
  for (let p = Object.getPrototypeOf(value); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const name of Object.getOwnPropertyNames(p)) {
      if (typeof Object.getOwnPropertyDescriptor(p, name)?.value === 'function') names.add(name);
    }
  }
  return [...names];
}

/** Statement methods called as apps call them: what each stores must be a shape the walk knows. */
// biome-ignore lint/suspicious/noExplicitAny: the probes reach Knex methods its typings omit (whereColumn, havingExists)
type LooseBuilder = any;
const probes: Array<(q: LooseBuilder, k: Knex) => unknown> = [
  (q) => q.select('a', { b: 'c' }).distinct('d').distinctOn('e'),
  (q) => q.count('a as n').min('b').max('c').sum('d').avg('e').countDistinct('f').sumDistinct('g').avgDistinct('h'),
  (q) =>
    q
      .rowNumber('rn', 'a')
      .rank('r', 'b', 'c')
      .denseRank('d', (w: LooseBuilder) => w.orderBy('a').partitionBy('b')),
  (q, k) =>
    q
      .jsonExtract('a', '$.b', 'c')
      .jsonSet('d', '$.e', 1)
      .jsonInsert('f', '$.g', 2)
      .jsonRemove('h', '$.i')
      .select(k.raw('1')),
  (q) =>
    q
      .where('a', 1)
      .orWhere({ b: 2 })
      .whereNot('c', 3)
      .whereIn('d', [1])
      .whereNotIn('e', (s: LooseBuilder) => s.select('x').from('y')),
  (q) => q.whereNull('a').whereNotNull('b').whereBetween('c', [1, 2]).whereNotBetween('d', [1, 2]),
  (q) =>
    q
      .whereExists((s: LooseBuilder) => s.select(1))
      .whereNotExists((s: LooseBuilder) => s.select(1))
      .whereColumn('a', '=', 'b'),
  (q) =>
    q
      .whereLike('a', 'x%')
      .whereILike('b', 'y%')
      .whereRaw('1 = ?', [1])
      .where((w: LooseBuilder) => w.where('a', 1)),
  (q) =>
    q
      .whereJsonObject('a', { b: 1 })
      .whereJsonPath('c', '$.d', '=', 1)
      .whereJsonSupersetOf('e', { f: 1 })
      .whereJsonSubsetOf('g', { h: 1 }),
  (q) =>
    q.groupBy('a').groupByRaw('b').having('a', '>', 1).havingIn('b', [1]).havingNull('c').havingBetween('d', [1, 2]),
  (q) =>
    q
      .havingExists((s: LooseBuilder) => s.select(1))
      .havingRaw('1 = 1')
      .orderBy('a')
      .orderByRaw('b desc')
      .orderBy([{ column: 'c' }]),
  (q) =>
    q
      .join('b', 'a.x', 'b.y')
      .leftJoin('c', (j: LooseBuilder) => j.on('c.x', 'a.x').andOnVal('c.y', 1).orOnIn('c.z', [1]).onNull('c.n')),
  (q) => q.rightJoin('d', 'a.x', 'd.x').fullOuterJoin('e', 'a.x', 'e.x').crossJoin('f').joinRaw('join g on 1 = 1'),
  (q) =>
    q.innerJoin('h', (j: LooseBuilder) =>
      j
        .on((w: LooseBuilder) => w.on('a.x', 'h.x'))
        .onBetween('h.y', [1, 2])
        .onExists((s: LooseBuilder) => s.select(1))
        .using('i'),
    ),
  (q) =>
    q
      .with('w', (s: LooseBuilder) => s.select(1))
      .withRecursive('r', (s: LooseBuilder) => s.select(1))
      .union((s: LooseBuilder) => s.select(1))
      .unionAll((s: LooseBuilder) => s.select(1)),
  (q) =>
    q
      .intersect((s: LooseBuilder) => s.select(1))
      .except((s: LooseBuilder) => s.select(1))
      .limit(1)
      .offset(2)
      .hintComment('h')
      .comment('c'),
  (q) => q.forUpdate().skipLocked(),
  (q) => q.forShare('t').noWait(),
  (q) => q.first('a'),
  (q) => q.pluck('a'),
  (q) => q.insert({ a: 1 }).returning('a').onConflict('a').merge({ b: 2 }),
  (q) =>
    q
      .insert([{ a: 1 }])
      .onConflict(['a'])
      .ignore(),
  (q) => q.update({ a: 1 }).increment('b', 1).decrement('c', 1),
  (q) => q.del().returning('*'),
  (q) => q.truncate(),
  (q) => q.columnInfo('a'),
];

describe('classification of Knex builders (nothing unknown passes)', () => {
  for (const client of clients) {
    it(`classifies every method of the installed Knex's ${client} builder`, () => {
      const k = knexFactory({ client, useNullAsDefault: true });
      const missing = methodsOf(k.queryBuilder()).filter((name) => !classified.has(name));
      assert.deepEqual(
        missing,
        [],
        `unclassified builder methods: ${missing.join(', ')}; classify them in classify.ts`,
      );
      void k.destroy();
    });

    it(`knows every shape the statement methods store (${client})`, () => {
      const k = knexFactory({ client, useNullAsDefault: true });
      for (const [i, probe] of probes.entries()) {
        const q = k('t as a');
        probe(q, k);
        const b = q as unknown as BuilderLike;
        assert.equal(unknownShape(b._method, b._statements, b._single), undefined, `probe ${i}`);
        assert.equal(walkBuilder(b).unknown, undefined, `probe ${i}`);
      }
      void k.destroy();
    });
  }

  describe('an unknown shape is refused with UNSUPPORTED_QUERY, and runs with scopes disabled', () => {
    const scopes = defineScopes({ tables: { pages: { tenant: 'tenant_id' } } });
    const base = knexFactory({
      client: 'better-sqlite3',
      useNullAsDefault: true,
      connection: { filename: ':memory:' },
    });
    const db = scopes.wrap(base);
    after(() => base.destroy());
    const shapes: Array<[string, (q: BuilderLike) => void]> = [
      ['an unknown grouping', (q) => q._statements.push({ grouping: 'qualify', value: 'x' })],
      ['an unknown where type', (q) => q._statements.push({ grouping: 'where', type: 'whereFuture', bool: 'and' })],
      ['an unknown _single field', (q) => (q._single.sample = 'pages')],
      ['an unknown query method', (q) => (q._method = 'merge')],
    ];
    for (const [name, mutate] of shapes) {
      it(name, () => {
        for (const table of ['pages', 'tags']) {
          const q = db(table).select('id') as unknown as BuilderLike;
          mutate(q);
          assert.throws(
            () => scope({ tenant: 1 }, () => q.toSQL()),
            (e: unknown) =>
              isScopeError(e, 'UNSUPPORTED_QUERY') && /does not know how to check/.test((e as Error).message),
          );
        }
      });
    }

    it('an unknown join kind or ON clause type', () => {
      const q1 = db('tags').join('pages', 'pages.id', 'tags.id') as unknown as BuilderLike;
      (q1._statements[0] as unknown as { joinType: string }).joinType = 'lateral';
      assert.throws(
        () => scope({ tenant: 1 }, () => q1.toSQL()),
        (e: unknown) => isScopeError(e, 'UNSUPPORTED_QUERY'),
      );
      const q2 = db('tags').join('pages', 'pages.id', 'tags.id') as unknown as BuilderLike;
      ((q2._statements[0] as unknown as { clauses: { type: string }[] }).clauses[0] as { type: string }).type =
        'onFuture';
      assert.throws(
        () => scope({ tenant: 1 }, () => q2.toSQL()),
        (e: unknown) => isScopeError(e, 'UNSUPPORTED_QUERY'),
      );
    });

    it('a comment changed after Knex validated it', () => {
      const q = db('tags').comment('fine') as unknown as BuilderLike & { _comments: { comment: string }[] };
      (q._comments[0] as { comment: string }).comment = '*/ select * from pages /*';
      assert.throws(
        () => scope({ tenant: 1 }, () => q.toSQL()),
        (e: unknown) => isScopeError(e, 'UNSUPPORTED_QUERY'),
      );
      // lifted explicitly, it compiles as Knex compiles it
      const lifted = db('tags').select('id') as unknown as BuilderLike;
      lifted._single.sample = 'x';
      assert.match(String(scopesDisabled(() => (lifted.toSQL() as { sql: string }).sql)), /select `id` from `tags`/);
    });
  });
});
