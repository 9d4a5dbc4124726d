// The builder class of a wrapped instance: the dialect's own builder, plus the scope it was
// created in and the per-query overrides.

import { captureOrigin, type EventSink, wantsAnyEvent } from '../diagnostics';
import { type ScopeState, scopeStorage } from '../scope-state';
import type { ScopeValues } from '../scope-values';
import { normalizeScopeValues } from '../scope-values';
import { COMPILE_TOP_LEVEL, CREATED, ORIGIN, OVERRIDE, POLICY } from './builder-symbols';
import { currentRun } from './compile-run';
import type { BuilderLike, ClientLike } from './knex-internals';

/** A builder's own toSQL (the dialect's), called with the builder as `this`. */
export type DialectToSQL = (this: BuilderLike, method: string | undefined, tz: unknown) => unknown;

export interface TopLevelCompile {
  [COMPILE_TOP_LEVEL](builder: BuilderLike, toSQL: DialectToSQL, method: string | undefined, tz: unknown): unknown;
}

export interface ScopedBuilderFields {
  [CREATED]: ScopeState | undefined;
  [OVERRIDE]: ScopeState | undefined;
}

type BuilderClass = new (client: ClientLike) => BuilderLike & { clone(): BuilderLike };

const classes = new WeakMap<BuilderClass, BuilderClass>();
const storage = scopeStorage();

/** The scoped subclass of a dialect's builder class (made once per dialect class). */
export function scopedBuilderClass(Dialect: BuilderClass): BuilderClass {
  let Scoped = classes.get(Dialect);
  if (Scoped) return Scoped;
  const proto = Dialect.prototype as { toSQL: unknown };
  Scoped = class ScopedQueryBuilder extends Dialect {
    // `declare`: set once in the constructor, not defined a first time by a field initializer.
    declare [CREATED]: ScopeState | undefined;
    declare [OVERRIDE]: ScopeState | undefined;
    declare [ORIGIN]: { stack?: string } | undefined;

    constructor(client: ClientLike) {
      super(client);
      this[CREATED] = storage.getStore();
      this[OVERRIDE] = undefined;
      // the app's call site for events: only when someone listens, so it costs nothing otherwise
      const sink = (client as unknown as Record<symbol, { onEvent?: EventSink } | undefined>)[POLICY]?.onEvent;
      this[ORIGIN] = wantsAnyEvent(sink) ? captureOrigin() : undefined;
    }

    /** Runs this query in exactly this scope, whatever scope is active (django-scopes' with_scope). */
    withScope(values: ScopeValues): this {
      this[OVERRIDE] = Object.freeze({ enabled: true, values: Object.freeze(normalizeScopeValues(values)) });
      return this;
    }

    /** Runs this one query with scopes disabled. */
    withScopesDisabled(): this {
      const values = (this[OVERRIDE] ?? this[CREATED] ?? storage.getStore())?.values ?? {};
      this[OVERRIDE] = Object.freeze({ enabled: false, values });
      return this;
    }

    // A top-level compile (a run, toString(), toNative()): the client opens its run around it.
    // Nested builders compile inside that run; a builder of an unscoped client compiles as is.
    // The dialect's method is looked up per call, as `super.toSQL` would be, but no closure is
    // made: this runs once per query.
    override toSQL(method?: string, tz?: unknown) {
      const toSQL = proto.toSQL as DialectToSQL;
      const client = this.client as ClientLike & Partial<TopLevelCompile>;
      const compileTopLevel = client[COMPILE_TOP_LEVEL];
      if (compileTopLevel === undefined || currentRun() !== undefined) {
        return toSQL.call(this, method, tz) as ReturnType<BuilderLike['toSQL']>;
      }
      return compileTopLevel.call(client, this, toSQL, method, tz) as ReturnType<BuilderLike['toSQL']>;
    }

    override clone() {
      const copy = super.clone() as BuilderLike & ScopedBuilderFields;
      copy[CREATED] = this[CREATED];
      copy[OVERRIDE] = this[OVERRIDE];
      (copy as unknown as Record<symbol, unknown>)[ORIGIN] = this[ORIGIN];
      return copy;
    }
  };
  classes.set(Dialect, Scoped);
  return Scoped;
}
