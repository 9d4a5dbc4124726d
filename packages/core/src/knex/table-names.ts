// Matching the names a query uses against the declared tables, after the app's identifier
// mapping: a policy keyed `blogPages` must catch `db('blog_pages')` under a snake-case mapper.
import type { TablePolicy } from '../table-paths';
import type { ClientLike } from './knex-internals';

type WrapIdentifier = (value: string, origImpl: (v: string) => string, ctx: unknown) => string;

const identity = (v: string) => v;

/**
 * Folds a name the way the most lenient server compares names: case (SQLite, MySQL), and
 * Unicode compatibility forms (`ﬁ`, `ſ`, fullwidth letters), so no spelling of a declared name
 * slips past as another table.
 */
export function foldName(name: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range
  if (/^[\u0000-\u007f]*$/.test(name)) return name.toLowerCase();
  return name.normalize('NFKC').toUpperCase().toLowerCase();
}
const CACHE_LIMIT = 2000;

export class TableMatcher {
  private readonly byName = new Map<string, TablePolicy>();
  private readonly cache = new Map<string, TablePolicy | null>();
  /** Declared names as a raw text would spell them, folded: mapped, and as declared. */
  private readonly bySqlName = new Map<string, TablePolicy>();
  private readonly mapIdentifier: WrapIdentifier | undefined;

  constructor(policies: ReadonlyMap<string, TablePolicy>, config: ClientLike['config']) {
    this.mapIdentifier = typeof config.wrapIdentifier === 'function' ? config.wrapIdentifier : undefined;
    for (const policy of policies.values()) {
      this.byName.set(this.normalize(policy.table), policy);
      this.bySqlName.set(this.normalize(policy.table), policy);
      this.bySqlName.set(foldName(policy.table), policy);
    }
  }

  /** The database-side name, folded: SQLite and MySQL compare table names case-insensitively. */
  normalize(name: string): string {
    const trimmed = name.trim();
    const mapped = this.mapIdentifier ? this.mapIdentifier(trimmed, identity, undefined) : trimmed;
    return foldName(String(mapped));
  }

  /** The policy of a name read from raw SQL, as the database or the app's name mapping spells it. */
  matchSqlName(name: string): TablePolicy | undefined {
    return this.bySqlName.get(foldName(name)) ?? this.match(name);
  }

  /** The policy of a table name as written in a query, or undefined for an unscoped table. */
  match(name: string): TablePolicy | undefined {
    const hit = this.cache.get(name);
    if (hit !== undefined) return hit ?? undefined;
    const policy = this.byName.get(this.normalize(name)) ?? null;
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear(); // dynamic names must not grow memory
    this.cache.set(name, policy);
    return policy ?? undefined;
  }

  /** True when a column name as written means the declared column. */
  sameColumn(written: string, declared: string): boolean {
    if (written === declared) return true;
    const dot = written.lastIndexOf('.');
    const bare = dot === -1 ? written : written.slice(dot + 1);
    return this.normalize(bare) === this.normalize(declared);
  }
}
