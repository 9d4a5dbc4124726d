// The app's declaration as the checks read it: the scoped tables, the global ones, and the RLS
// bridge's option when there is one.
import type { DimensionRule, Scopes, TablePolicy } from '@knex-scopes/core';
import { same } from './live-schema';

/** The RLS bridge's option, read defensively: it is newer than this package's core. */
export interface RlsOption {
  /** The setting the policies read (`current_setting('app.tenant_id')`), when the option names it. */
  readonly setting: string | null;
  /**
   * Core's policy generator (`scopes.rlsPolicySql()`), when these scopes have one: the fixes then
   * give the very policies the bridge's setting is made for. Takes `'table.column' → SQL type`.
   */
  readonly policySql: ((types: Readonly<Record<string, string>>) => readonly string[]) | null;
}

export interface Declaration {
  readonly policies: readonly TablePolicy[];
  /** Tables every tenant shares on purpose, as listed in the doctor's config. */
  readonly global: readonly string[];
  readonly rls: RlsOption | null;
}

export type DirectRule = Extract<DimensionRule, { kind: 'direct' }>;
export type PathRule = Extract<DimensionRule, { kind: 'path' }>;

export function readDeclaration(scopes: Scopes, global: readonly string[] = []): Declaration {
  return { policies: [...scopes.tables.values()], global, rls: readRls(scopes) };
}

function readRls(scopes: Scopes): RlsOption | null {
  const rls = (scopes as { rls?: unknown }).rls;
  if (rls === undefined || rls === null || rls === false) return null;
  const setting = typeof rls === 'object' ? (rls as { setting?: unknown }).setting : undefined;
  return {
    setting: typeof setting === 'string' && setting !== '' ? setting : null,
    policySql: readPolicySql(scopes),
  };
}

function readPolicySql(scopes: Scopes): RlsOption['policySql'] {
  const generate = (scopes as { rlsPolicySql?: unknown }).rlsPolicySql;
  if (typeof generate !== 'function') return null;
  const policySql = (types: Readonly<Record<string, string>>) =>
    (generate as (options: { types: Readonly<Record<string, string>> }) => string[]).call(scopes, { types });
  try {
    policySql({}); // a copy of scopes made without the option (`{ ...scopes, rls }`) has none
  } catch {
    return null;
  }
  return policySql;
}

export function policyOf(declaration: Declaration, table: string): TablePolicy | undefined {
  return declaration.policies.find((p) => same(p.table, table));
}

export function isGlobal(declaration: Declaration, table: string): boolean {
  return declaration.global.some((g) => same(g, table));
}

/** How a rule is written in defineScopes(). */
export function ruleText(rule: DimensionRule): string {
  return rule.kind === 'direct' ? rule.column : rule.path;
}

/** `comments: { tenant: 'page_id -> pages.tenant_id' },` */
export function declarationLine(table: string, dimensions: ReadonlyMap<string, string>): string {
  const entries = [...dimensions].map(([dimension, path]) => `${dimension}: '${path}'`);
  return `${table}: { ${entries.join(', ')} },`;
}
