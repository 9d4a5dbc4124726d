// One walk over everything a builder holds (every statement and its fields, every `_single`
// field, join clauses, values, arrays and plain objects at any depth) that finds each raw and
// checks each part is one the rewrite understands (classify.ts). Nested builders and callbacks
// are not entered: Knex compiles them through the compiler seam, where they are walked in turn.
// The one callback Knex runs inline, a join's `on(function)`, is run here on a scratch clause.
import { JOIN_CLAUSE_TYPES, JOIN_TYPES, unknownShape } from './classify';
import { type BuilderLike, isBuilder, isRaw, type RawLike, type Statement } from './knex-internals';

export interface Walked {
  /** Every raw found, outermost first (the raws in a raw's bindings are read with it). */
  readonly raws: RawLike[];
  /** The first part that is not understood, for UNSUPPORTED_QUERY. */
  unknown: string | undefined;
}

type ClauseLike = { type?: unknown; value?: unknown; [key: string]: unknown };

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

class Walker implements Walked {
  readonly raws: RawLike[] = [];
  unknown: string | undefined;
  // made at the first object met: most builders hold none
  private seen: Set<object> | undefined;

  value(value: unknown): void {
    if (typeof value !== 'object' || value === null) return; // names, values, callbacks (compiled at the seam)
    if (isRaw(value)) {
      this.raws.push(value);
      return;
    }
    if (isBuilder(value)) return;
    this.seen ??= new Set();
    if (this.seen.has(value)) return;
    this.seen.add(value);
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) this.value(value[i]);
    } else if (isPlainObject(value)) {
      for (const key in value) this.value((value as Record<string, unknown>)[key]);
    }
    // other objects (Date, Buffer, …) are bound as values
  }

  statement(s: Statement): void {
    if (s.grouping === 'join') this.join(s);
    else if (s.grouping === 'hintComments' && !safeComments(s.value))
      this.unknown ??= 'a hint comment that could end its comment';
    for (const key in s) {
      if (key !== 'clauses') this.value(s[key]);
    }
  }

  private join(s: Statement): void {
    const joinType = s.joinType;
    if (typeof joinType !== 'string' || !JOIN_TYPES.has(joinType)) {
      this.unknown ??= `a join of type "${String(joinType)}"`;
    }
    const clauses = s.clauses;
    if (clauses !== undefined && !Array.isArray(clauses)) this.unknown ??= 'join clauses that are not a list';
    else if (clauses) this.clauses(clauses as ClauseLike[], s.constructor as new () => { clauses: ClauseLike[] }, 0);
  }

  private clauses(
    clauses: readonly ClauseLike[],
    JoinClause: new () => { clauses: ClauseLike[] },
    depth: number,
  ): void {
    for (const c of clauses) {
      if (typeof c.type !== 'string' || !JOIN_CLAUSE_TYPES.has(c.type)) {
        this.unknown ??= `a join clause of type "${String(c.type)}"`;
      }
      for (const key in c) this.value(c[key]);
      // `on(function () { … })` is run by Knex inline, on a join clause, during the compile
      if (c.type === 'onWrapped' && typeof c.value === 'function') {
        if (depth > 8) {
          this.unknown ??= 'join callbacks nested more than 8 deep';
          continue;
        }
        const scratch = new JoinClause();
        if (!Array.isArray(scratch.clauses)) scratch.clauses = [];
        (c.value as (this: unknown, j: unknown) => void).call(scratch, scratch);
        this.clauses(scratch.clauses, JoinClause, depth + 1);
      }
    }
  }
}

// Knex validates comments when they are added; a builder changed afterwards is checked again.
function safeComments(value: unknown): boolean {
  const texts = Array.isArray(value) ? value : [value];
  return texts.every((t) => typeof t === 'string' && !t.includes('*/') && !t.includes('/*') && !t.includes('?'));
}

/** Walks one builder's own parts (not the builders nested in it). */
export function walkBuilder(builder: BuilderLike): Walked {
  const walker = new Walker();
  const statements = builder._statements;
  walker.unknown = unknownShape(builder._method, statements, builder._single);
  for (let i = 0; i < statements.length; i++) walker.statement(statements[i] as Statement);
  const single = builder._single as Record<string, unknown>;
  for (const key in single) walker.value(single[key]);
  const comments = (builder as unknown as { _comments?: unknown })._comments;
  if (Array.isArray(comments)) {
    for (const c of comments) {
      if (!safeComments((c as { comment?: unknown } | null)?.comment))
        walker.unknown ??= 'a query comment that could end its comment';
    }
  }
  return walker;
}
