// The rewrite reads Knex internals, so only the Knex versions the contract tests cover are
// accepted, and the internal shapes are probed once per wrap(): a mismatch fails at start-up.
import { ScopeError } from '../errors';
import { probeCompilerQuirks } from './compiler-quirks';
import { type BuilderLike, type ClientLike, type JoinClauseLike, registerBuilderBase } from './knex-internals';

/**
 * The Knex releases CI runs the core suite and the fuzzer against (scripts/test-knex.sh), one
 * per minor line: the release tested, and later patches of the same line. An earlier patch of
 * a line (2.5.0, 3.2.0–3.2.9) is refused: not tested, and Knex patches do change the builder
 * (3.2.9 added `delete … limit`); a later one still passes the probe below and the walk, which
 * refuses any shape it does not know (classify.ts).
 */
const TESTED_KNEX_RELEASES: readonly (readonly [number, number, number])[] = [
  [2, 5, 1],
  [3, 0, 1],
  [3, 1, 0],
  [3, 2, 10],
  [3, 3, 0],
];

/** The same set as an npm range, as the packages' peerDependencies state it. */
export const SUPPORTED_KNEX_RANGE = TESTED_KNEX_RELEASES.map((v) => `~${v.join('.')}`).join(' || ');

export function isSupportedKnexVersion(version: string): boolean {
  // a prerelease (3.3.1-next1) is not the release that was tested
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (!m) return false;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return TESTED_KNEX_RELEASES.some(([a, b, c]) => a === major && b === minor && patch >= c);
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
    `knex-scopes cannot wrap this Knex instance: ${why}. Supported Knex versions: ${SUPPORTED_KNEX_RANGE} ` +
      `(tested: ${TESTED_KNEX_RELEASES.map((v) => v.join('.')).join(', ')}).`,
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
  // what differs between the supported releases, probed rather than read off the version
  probeCompilerQuirks(client);
}
