// One walk over everything a builder holds (every statement and its fields, every `_single`
// field, join clauses, values, arrays and plain objects at any depth) that finds each raw and
// checks each part is one the rewrite understands (classify.ts). Nested builders and callbacks
// are not entered: Knex compiles them through the compiler seam, where they are walked in turn.
// The one callback Knex runs inline, a join's `on(function)`, is run here on a scratch clause.

import { types } from 'node:util';
import { JOIN_CLAUSE_TYPES, JOIN_TYPES, unknownShape } from './classify';
import {
  type BuilderLike,
  type Clause,
  isBuilder,
  isRaw,
  type JoinClauseLike,
  type RawLike,
  registerBuilderBaseOf,
  type Statement,
} from './knex-internals';
import { carriesSqlString, SQL_STRING_VALUE } from './sql-string-values';

export interface Walked {
  /** Every raw found, outermost first (the raws in a raw's bindings are read with it). */
  readonly raws: RawLike[];
  /** The first part that is not understood, for UNSUPPORTED_QUERY. */
  unknown: string | undefined;
  /**
   * Joins whose `on(function)` callbacks were run here, by statement index, with each callback
   * replaced by what it produced: the compile must use these, so what runs is what was read.
   */
  frozenJoins: Map<number, JoinClauseLike> | undefined;
}

// Values Knex binds as they are and never reads fields of.
function isOpaqueValue(value: object): boolean {
  return value instanceof Date || ArrayBuffer.isView(value) || value instanceof ArrayBuffer;
}

class Walker implements Walked {
  readonly raws: RawLike[] = [];
  unknown: string | undefined;
  frozenJoins: Map<number, JoinClauseLike> | undefined;
  // made at the first object met: most builders hold none
  private seen: Set<object> | undefined;

  value(value: unknown): void {
    if (typeof value !== 'object' || value === null) return; // names, values, callbacks (compiled at the seam)
    if (isRaw(value)) {
      this.raws.push(value);
      return;
    }
    if (isBuilder(value)) return;
    if (carriesSqlString(value)) {
      this.unknown ??= SQL_STRING_VALUE;
      return;
    }
    if (isOpaqueValue(value)) return;
    this.seen ??= new Set();
    if (this.seen.has(value)) return;
    this.seen.add(value);
    // Knex reads the fields of any object in a name slot (for…in, arrays' named fields too)
    this.fields(value as Record<string, unknown>);
  }

  /**
   * A field of a statement, a clause or `_single`: Knex reads a list there by index (column
   * lists, insert rows, IN values), so its elements are walked; anything else as any value.
   */
  field(value: unknown): void {
    if (!Array.isArray(value) || types.isProxy(value)) {
      this.value(value);
      return;
    }
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (typeof v === 'object' && v !== null) this.value(v);
    }
  }

  /** Every enumerable field, read once: a getter or a proxy could answer Knex differently. */
  private fields(value: Record<string, unknown>): void {
    if (types.isProxy(value)) {
      this.unknown ??= 'a proxy object (it could answer the compile differently from this check)';
      return;
    }
    for (const key in value) {
      const own = Object.getOwnPropertyDescriptor(value, key);
      if (own !== undefined && own.get !== undefined) {
        this.unknown ??= `a getter ("${key}"), which could answer the compile differently from this check`;
        continue;
      }
      this.value(value[key]);
    }
  }

  statement(s: Statement, index: number): void {
    if (s.grouping === 'join') this.join(s as JoinClauseLike, index);
    else if (s.grouping === 'hintComments' && !safeComments(s.value))
      this.unknown ??= 'a hint comment that could end its comment';
    // Knex builds statements itself; what the app passed sits in their fields (checked below)
    // own fields only: a JoinClause's prototype has enumerable methods, which Knex never reads
    const keys = Object.keys(s);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      const v = s[key];
      if (key !== 'clauses' && v !== s) this.field(v); // a JoinClause refers to itself (`and`)
    }
  }

  private join(s: JoinClauseLike, index: number): void {
    const joinType = s.joinType;
    if (typeof joinType !== 'string' || !JOIN_TYPES.has(joinType)) {
      this.unknown ??= `a join of type "${String(joinType)}"`;
    }
    const clauses: unknown = s.clauses;
    if (clauses === undefined) return;
    if (!Array.isArray(clauses)) {
      this.unknown ??= 'join clauses that are not a list';
      return;
    }
    const JoinClause = s.constructor as new () => { clauses: Clause[] };
    const frozen = this.clauses(clauses as Clause[], JoinClause, 0);
    if (frozen !== clauses) {
      // the same join, with its callbacks replaced by the clauses they produced when run here
      const copy = Object.assign(Object.create(Object.getPrototypeOf(s)) as JoinClauseLike, s, { clauses: frozen });
      this.frozenJoins ??= new Map();
      this.frozenJoins.set(index, copy);
    }
  }

  /** Checks the clauses; returns them, or a copy whose `on(function)` callbacks are frozen. */
  private clauses(clauses: Clause[], JoinClause: new () => { clauses: Clause[] }, depth: number): Clause[] {
    let out: Clause[] | undefined;
    for (let i = 0; i < clauses.length; i++) {
      const c = clauses[i] as Clause;
      if (typeof c.type !== 'string' || !JOIN_CLAUSE_TYPES.has(c.type)) {
        this.unknown ??= `a join clause of type "${String(c.type)}"`;
      }
      const keys = Object.keys(c); // a clause Knex built; its values are the app's
      for (let k = 0; k < keys.length; k++) this.field(c[keys[k] as string]);
      // `on(function () { … })` is run by Knex inline, on a join clause, during the compile: run
      // it once here, and have the compile use what it produced (a callback could answer twice)
      if (c.type !== 'onWrapped' || typeof c.value !== 'function') continue;
      if (depth > 8) {
        this.unknown ??= 'join callbacks nested more than 8 deep';
        continue;
      }
      const scratch = new JoinClause();
      if (!Array.isArray(scratch.clauses)) scratch.clauses = [];
      (c.value as (this: unknown, j: unknown) => void).call(scratch, scratch);
      const produced = this.clauses(scratch.clauses, JoinClause, depth + 1);
      out ??= clauses.slice();
      out[i] = { ...c, value: frozenCallback(produced) };
    }
    return out ?? clauses;
  }
}

/** A join callback that adds exactly these clauses, every time it runs. */
function frozenCallback(produced: readonly Clause[]): (this: { clauses: Clause[] }) => void {
  return function (this: { clauses: Clause[] }) {
    for (const c of produced) this.clauses.push(c);
  };
}

// Knex validates comments when they are added; a builder changed afterwards is checked again.
function safeComments(value: unknown): boolean {
  const texts = Array.isArray(value) ? value : [value];
  return texts.every((t) => typeof t === 'string' && !t.includes('*/') && !t.includes('/*') && !t.includes('?'));
}

/** Walks one builder's own parts (not the builders nested in it). */
export function walkBuilder(builder: BuilderLike): Walked {
  registerBuilderBaseOf(builder); // a real builder (from the seam): its nested builders are told by their base
  const walker = new Walker();
  const statements = builder._statements;
  walker.unknown = unknownShape(builder._method, statements, builder._single);
  for (let i = 0; i < statements.length; i++) walker.statement(statements[i] as Statement, i);
  const single = builder._single as Record<string, unknown>;
  for (const key in single) walker.field(single[key]);
  const comments = (builder as unknown as { _comments?: unknown })._comments;
  if (Array.isArray(comments)) {
    for (const c of comments) {
      if (!safeComments((c as { comment?: unknown } | null)?.comment))
        walker.unknown ??= 'a query comment that could end its comment';
    }
  }
  return walker;
}
