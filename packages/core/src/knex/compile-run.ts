// The state of one top-level compile: which scope it runs under (resolved once, lazily, at the
// first scoped reference) and what it observed, published when the compile ends.

import { type BypassReason, callSiteOf, captureStack, type EventSink, publish, wantsEvent } from '../diagnostics';
import { ScopeError } from '../errors';
import type { ScopeState } from '../scope-state';
import { ALL, type ScopeKey, type ScopeValue } from '../scope-values';
import type { PathRule, TablePolicy } from '../table-paths';
import type { BuilderLike } from './knex-internals';
import { addParentKeys, type ParentCheck, type PendingParentChecks } from './parent-checks';
import type { PathJoinTable } from './path-joins';
import type { PathSubquery } from './predicates';
import type { TableMatcher } from './table-names';

export type Mode = 'enforce' | 'report';

/** What a wrapped instance knows: its declared tables and how to behave. */
export interface ScopedPolicy {
  readonly matcher: TableMatcher;
  readonly policies: ReadonlyMap<string, TablePolicy>;
  readonly mode: Mode;
  readonly onEvent: EventSink | undefined;
  /** Compiled FK-path subqueries, per wrapped instance. */
  readonly paths: { subquery: PathSubquery; joinTable: PathJoinTable };
  /** The `colocateJoins` option: the dimension whose column distributes the tables (colocated-joins.ts). */
  readonly colocateJoins?: string | undefined;
}

function sameValue(a: ScopeValue | undefined, b: ScopeValue | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === ALL || b === ALL) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => String(v) === String(b[i]));
  }
  if (Array.isArray(a) || Array.isArray(b)) return false;
  return typeof a === typeof b && String(a) === String(b);
}

export function sameState(a: ScopeState, b: ScopeState): boolean {
  if (a === b) return true;
  if (a.enabled !== b.enabled) return false;
  const keys = Object.keys(a.values);
  if (keys.length !== Object.keys(b.values).length) return false;
  return keys.every((k) => sameValue(a.values[k], b.values[k]));
}

const UNRESOLVED = Symbol('unresolved');

function describeState(state: ScopeState): string {
  const values = Object.entries(state.values)
    .map(([k, v]) => `${k}=${v === ALL ? 'ALL' : Array.isArray(v) ? `[${v.join(',')}]` : String(v)}`)
    .join(', ');
  return `${state.enabled ? '' : 'disabled, '}{${values}}`;
}

export class CompileRun {
  private resolved: ScopeState | undefined | typeof UNRESOLVED = UNRESOLVED;
  private violations:
    | { tables: Set<string>; dimensions: Set<string>; code: ScopeError['code']; message: string }
    | undefined;
  private bypasses: Map<BypassReason, Set<string>> | undefined;
  /** The method of the top-level builder (`select`, `del`, …): nested rewrites depend on it. */
  topMethod: string | undefined;
  /**
   * The top-level builder when its own toSQL() opened this compile: its SQL is a whole
   * statement, nothing encloses it, so its own FROM is all its WHERE can see.
   */
  statement: BuilderLike | undefined;
  /** FK-path keys the runner must verify before the write is sent. */
  parentChecks: ParentCheck[] | undefined;
  /**
   * FK-path keys the top-level write checks itself (in-statement-checks.ts): verified after it
   * only when it wrote no row.
   */
  inStatementChecks: ParentCheck[] | undefined;
  /** Where the top-level builder was created (captured only when someone listens). */
  origin: { stack?: string } | undefined;
  /** A trustRaw()'d raw went in as written (query-channel.ts tells observers). */
  trustedRaw: boolean | undefined;

  constructor(
    readonly policy: ScopedPolicy,
    private readonly created: ScopeState | undefined,
    private readonly current: ScopeState | undefined,
    private readonly override: ScopeState | undefined,
  ) {}

  /** The scope this query runs under; a builder made in one scope and run in another is refused. */
  state(): ScopeState | undefined {
    if (this.resolved !== UNRESOLVED) return this.resolved;
    let state: ScopeState | undefined;
    if (this.override) state = this.override;
    else if (this.created && this.current && !sameState(this.created, this.current)) {
      throw new ScopeError(
        'SCOPE_MISMATCH',
        `This query was built in scope ${describeState(this.created)} and runs in scope ${describeState(this.current)}. ` +
          'Build it in the scope that runs it, or pin its scope explicitly with .withScope(values).',
        { dimensions: Object.keys(this.current.values) },
      );
    } else state = this.created ?? this.current;
    this.resolved = state;
    return state;
  }

  /** In report mode, a refusal becomes a recorded violation; in enforce mode it is thrown. */
  refuse(error: ScopeError): void {
    if (this.policy.mode === 'enforce') throw error;
    this.violations ??= { tables: new Set(), dimensions: new Set(), code: error.code, message: error.message };
    if (error.table) this.violations.tables.add(error.table);
    for (const d of error.dimensions ?? []) this.violations.dimensions.add(d);
  }

  bypass(reason: BypassReason, table: string): void {
    if (reason === 'trusted-raw') this.trustedRaw = true;
    if (!wantsEvent('bypass', this.policy.onEvent)) return;
    this.bypasses ??= new Map();
    const tables = this.bypasses.get(reason) ?? new Set<string>();
    this.bypasses.set(reason, tables);
    tables.add(table);
  }

  requireParents(table: string, rule: PathRule, schema: string | undefined, keys: readonly ScopeKey[]): void {
    this.parentChecks ??= [];
    addParentKeys(this.parentChecks, table, rule, schema, keys);
  }

  /** What the runner must verify around sending this query, if anything. */
  pendingParentChecks(): PendingParentChecks | undefined {
    if (!this.parentChecks && !this.inStatementChecks) return undefined;
    return {
      state: this.state(),
      checks: this.parentChecks ?? [],
      inStatement: this.inStatementChecks && { checks: this.inStatementChecks },
      mode: this.policy.mode,
      onEvent: this.policy.onEvent,
      origin: this.origin,
    };
  }

  /**
   * Publishes what this compile observed: one event per kind and query. Takes the compiled
   * query (or a raw statement's SQL) and reads its SQL only when there is an event to publish.
   */
  finish(query: unknown): void {
    // The common case, nothing to say, stays a check small enough to be inlined where it is
    // called: with the publishing below in the same function, V8 never optimised it.
    if (this.violations || this.bypasses) this.publishObserved(query);
  }

  private publishObserved(query: unknown): void {
    const sink = this.policy.onEvent;
    const sql = sqlOf(query);
    if (this.violations && wantsEvent('violation', sink)) {
      const v = this.violations;
      publish(
        {
          kind: 'violation',
          code: v.code,
          tables: [...v.tables],
          dimensions: [...v.dimensions],
          message: v.message,
          ...(sql === undefined ? {} : { sql }),
          ...this.where(),
        },
        sink,
      );
    }
    if (this.bypasses) {
      for (const [reason, tables] of this.bypasses) {
        const dimensions = new Set<string>();
        for (const t of tables) for (const d of this.policy.policies.get(t)?.dimensions ?? []) dimensions.add(d);
        publish(
          {
            kind: 'bypass',
            reason,
            tables: [...tables],
            dimensions: [...dimensions],
            ...(sql === undefined ? {} : { sql }),
            ...this.where(),
          },
          sink,
        );
      }
    }
  }

  /** The event's stack and the app's call site: from the builder's origin when it has one. */
  private where(fallback?: string): { stack: string; callSite?: string } {
    const stack = this.origin?.stack ?? fallback ?? captureStack();
    const callSite = callSiteOf(stack) ?? (fallback !== undefined ? callSiteOf(fallback) : undefined);
    return callSite === undefined ? { stack } : { stack, callSite };
  }

  failed(error: ScopeError): void {
    if (!wantsEvent('refusal', this.policy.onEvent)) return;
    publish(
      {
        kind: 'refusal',
        code: error.code,
        tables: error.table ? [error.table] : [],
        dimensions: error.dimensions ?? [],
        message: error.message,
        ...(error.sql === undefined ? {} : { sql: error.sql }),
        ...this.where(error.stack),
      },
      this.policy.onEvent,
    );
  }
}

/** The SQL of a compiled query (`toSQL()` gives one object, or several for some statements). */
function sqlOf(query: unknown): string | undefined {
  if (typeof query === 'string') return query;
  if (Array.isArray(query)) return query.map(sqlOf).join('; ');
  return typeof query === 'object' && query !== null ? (query as { sql?: string }).sql : undefined;
}

// The compile stack: nested builders are compiled synchronously inside their parent's toSQL,
// and find the run of the top-level compile here.
let current: CompileRun | undefined;
const shadowed: Array<CompileRun | undefined> = [];

/** The run of the compile in progress, if any. */
export function currentRun(): CompileRun | undefined {
  return current;
}

/** Runs `fn` (a compile) with `run` as the current run. */
export function withRun<T>(run: CompileRun, fn: () => T): T {
  return callInRun(run, fn, undefined, undefined, undefined);
}

/** `withRun` for a method and its two arguments: no closure on the path every query takes. */
export function callInRun<S, A, B, T>(run: CompileRun, fn: (this: S, a: A, b: B) => T, self: S, a: A, b: B): T {
  shadowed.push(current);
  current = run;
  try {
    return fn.call(self, a, b);
  } finally {
    current = shadowed.pop();
  }
}
