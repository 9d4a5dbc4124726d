// The rewrite reads Knex internals, so only the Knex versions the contract tests cover are
// accepted, and the internal shapes are probed once per wrap(): a mismatch fails at start-up.
import { ScopeError } from '../errors';
import { type BuilderLike, type ClientLike, type JoinClauseLike, registerBuilderBase } from './knex-internals';

export const SUPPORTED_KNEX_RANGE = '>=3.3.0 <3.4.0';
const MIN: readonly number[] = [3, 3, 0];
const BELOW: readonly number[] = [3, 4, 0];

function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

export function isSupportedKnexVersion(version: string): boolean {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const v = [Number(m[1]), Number(m[2]), Number(m[3])];
  return compare(v, MIN) >= 0 && compare(v, BELOW) < 0;
}

function installedKnexVersion(): string | undefined {
  try {
    return (require('knex/package.json') as { version?: string }).version;
  } catch {
    return undefined;
  }
}

function unsupported(why: string): ScopeError {
  return new ScopeError(
    'UNSUPPORTED_KNEX_VERSION',
    `knex-scopes cannot wrap this Knex instance: ${why}. Supported Knex versions: ${SUPPORTED_KNEX_RANGE}.`,
  );
}

/** Throws UNSUPPORTED_KNEX_VERSION unless the Knex in use is one the contract tests cover. */
export function assertSupportedKnex(client: ClientLike, version = installedKnexVersion()): void {
  if (version === undefined) throw unsupported('the knex package version could not be read');
  if (!isSupportedKnexVersion(version)) throw unsupported(`knex ${version} is installed`);
  registerBuilderBase(client);
  // Probe the internal shapes the rewrite relies on.
  const qb = client.queryBuilder() as BuilderLike & {
    from(t: string): unknown;
    join(t: string, a: string, b: string): unknown;
    where(c: string, v: number): unknown;
  };
  qb.from('knex_scopes_probe as a');
  qb.join('knex_scopes_probe_b', 'a.x', 'knex_scopes_probe_b.y');
  qb.where('a.z', 1);
  const join = qb._statements[0] as JoinClauseLike | undefined;
  const where = qb._statements[1];
  const ok =
    qb._method === 'select' &&
    qb._single?.table === 'knex_scopes_probe as a' &&
    join?.grouping === 'join' &&
    join.joinType === 'inner' &&
    join.table === 'knex_scopes_probe_b' &&
    join.clauses?.[0]?.type === 'onBasic' &&
    where?.grouping === 'where' &&
    where.type === 'whereBasic' &&
    where.bool === 'and';
  if (!ok) throw unsupported(`the builder internals of knex ${version} differ from what the rewrite expects`);
}
