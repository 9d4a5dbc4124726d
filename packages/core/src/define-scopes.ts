// defineScopes(): the app's declaration of its scoped tables, compiled once, and wrap(knex).
import type { Knex } from 'knex';
import type { EventSink, ScopeEvent } from './diagnostics';
import { ScopeError } from './errors';
import type { Mode, ScopedPolicy } from './knex/compile-run';
import type { ClientLike } from './knex/knex-internals';
import { PathCache } from './knex/path-cache';
import { makeScopedClientClass, POLICY } from './knex/scoped-client';
import { TableMatcher } from './knex/table-names';
import { assertSupportedKnex } from './knex/version-guard';
import { makeRlsClientClass } from './rls/rls-client';
import { type RlsMigration, rlsMigration } from './rls/rls-migration';
import { parseRlsOptions, type RlsConfig, type RlsOptions } from './rls/rls-options';
import { type RlsPolicySqlOptions, rlsPolicySql } from './rls/rls-policy-sql';
import type { DimensionName } from './scope-values';
import { compileTablePolicies, type TableDeclaration, type TablePolicy } from './table-paths';
import './knex/builder-types';

export interface ScopesOptions<Tables extends string = string> {
  /** Table name → dimension → column (`'tenant_id'`) or FK path (`'page_id -> pages.tenant_id'`). */
  readonly tables: { readonly [T in Tables]: TableDeclaration<DimensionName> };
  /** `'enforce'` (default) refuses; `'report'` lets violating queries run and reports them. */
  readonly mode?: Mode;
  /** Called for every violation (report mode) and refusal (enforce mode). */
  readonly onViolation?: (event: ScopeEvent) => void;
  /** Called for every query that ran with protection lifted (scopesDisabled, ALL, trustRaw). */
  readonly onBypass?: (event: ScopeEvent) => void;
  /**
   * PostgreSQL only: every statement the wrapped instance sends runs with the scope as the
   * transaction-local setting `rls.setting`, which the policies of `rlsPolicySql()` read.
   */
  readonly rls?: RlsOptions;
  /**
   * The dimension whose column distributes the tables on Citus (`'tenant'`): joins of two tables
   * that both carry that column also equate it (`b.tenant_id = a.tenant_id`), as Citus needs to
   * route or co-locate them, and PostgreSQL full outer joins filter through derived tables
   * (docs/citus.md).
   */
  readonly colocateJoins?: DimensionName;
}

export interface Scopes {
  /** The declared tables, validated. */
  readonly tables: ReadonlyMap<string, TablePolicy>;
  readonly mode: Mode;
  /**
   * A scoped instance sharing `knex`'s connection pool. Everything built from it, its
   * transactions and ORMs bound to it are filtered; `knex` itself stays unscoped (migrations,
   * seeds). Destroying either instance closes the shared pool.
   */
  wrap<K extends Knex>(knex: K): K;
  /** The `rls` option, validated (`undefined` without the RLS bridge). */
  readonly rls: RlsConfig | undefined;
  /**
   * The statements that make PostgreSQL enforce the scopes (the `rls` option is required): the
   * helper function, then per declared table ENABLE and FORCE ROW LEVEL SECURITY and its policy.
   */
  rlsPolicySql(options?: RlsPolicySqlOptions): string[];
  /** A Knex migration (`export const { up, down } = scopes.rlsMigration()`) running rlsPolicySql(). */
  rlsMigration(options?: RlsPolicySqlOptions): RlsMigration;
}

type KnexWithClient = Knex & { client: ClientLike & { constructor: new (...args: never[]) => ClientLike } };

export function defineScopes<Tables extends string>(options: ScopesOptions<Tables>): Scopes {
  if (typeof options !== 'object' || options === null) {
    throw new ScopeError(
      'INVALID_DEFINITION',
      'defineScopes() takes an options object: defineScopes({ tables: { … } }).',
    );
  }
  const mode = options.mode ?? 'enforce';
  if (mode !== 'enforce' && mode !== 'report') {
    throw new ScopeError(
      'INVALID_DEFINITION',
      `defineScopes: mode must be 'enforce' or 'report', got ${JSON.stringify(mode)}.`,
    );
  }
  const policies = compileTablePolicies(options.tables);
  const colocate = options.colocateJoins;
  if (colocate !== undefined && ![...policies.values()].some((p) => p.dimensions.includes(colocate))) {
    throw new ScopeError(
      'INVALID_DEFINITION',
      `defineScopes: colocateJoins names the dimension that distributes the tables (e.g. 'tenant'); ` +
        `${JSON.stringify(colocate)} is not a dimension of any declared table.`,
    );
  }
  const rls = parseRlsOptions(options.rls);
  const needRls = (what: string): RlsConfig => {
    if (rls) return rls;
    throw new ScopeError(
      'INVALID_DEFINITION',
      `scopes.${what}() needs the RLS bridge: defineScopes({ tables, rls: { setting: 'knex_scopes.scope' } }).`,
    );
  };
  const { onViolation, onBypass } = options;
  const onEvent: EventSink | undefined =
    onViolation || onBypass
      ? (event) => (event.kind === 'bypass' ? onBypass?.(event) : onViolation?.(event))
      : undefined;

  return Object.freeze({
    tables: policies,
    mode,
    rls,
    rlsPolicySql: (sqlOptions?: RlsPolicySqlOptions) => rlsPolicySql(policies, needRls('rlsPolicySql'), sqlOptions),
    rlsMigration: (sqlOptions?: RlsPolicySqlOptions) => rlsMigration(policies, needRls('rlsMigration'), sqlOptions),
    wrap<K extends Knex>(knex: K): K {
      const instance = knex as unknown as KnexWithClient;
      if (typeof instance !== 'function' || typeof instance.withUserParams !== 'function' || !instance.client) {
        throw new ScopeError(
          'INVALID_DEFINITION',
          'scopes.wrap() takes a Knex instance, e.g. scopes.wrap(knex(config)).',
        );
      }
      // Knex cannot derive an instance from a transaction (withUserParams throws a plain Error).
      if ((instance as { isTransaction?: boolean }).isTransaction === true) {
        throw new ScopeError(
          'INVALID_DEFINITION',
          'scopes.wrap() takes the base Knex instance, not a transaction: wrap the base once and open ' +
            'transactions on the wrapped instance (db.transaction()); they and their savepoints are scoped.',
        );
      }
      if ((instance.client as unknown as Record<symbol, unknown>)[POLICY] !== undefined) {
        throw new ScopeError(
          'INVALID_DEFINITION',
          'scopes.wrap(): this Knex instance is already wrapped; wrap the base instance once.',
        );
      }
      assertSupportedKnex(instance.client);
      if (rls && instance.client.dialect !== 'postgresql') {
        throw new ScopeError(
          'INVALID_DEFINITION',
          `defineScopes: the rls option needs PostgreSQL (row-level security); this Knex instance uses "${instance.client.dialect}".`,
        );
      }
      const derived = instance.withUserParams(instance.userParams ?? {}) as unknown as KnexWithClient;
      const policy: { -readonly [K in keyof ScopedPolicy]: ScopedPolicy[K] } = {
        matcher: new TableMatcher(policies, derived.client.config),
        policies,
        mode,
        onEvent,
        paths: { subquery: () => undefined, joinTable: () => undefined },
        colocateJoins: colocate,
      };
      policy.paths = new PathCache(policy);
      let Scoped = makeScopedClientClass(instance.client.constructor, policy);
      if (rls) Scoped = makeRlsClientClass(Scoped, rls);
      Object.setPrototypeOf(derived.client, Scoped.prototype);
      return derived as unknown as K;
    },
  });
}
