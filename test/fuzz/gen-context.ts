// The generation context: fast-check's imperative generator (so later choices can depend on
// earlier ones: visible columns, types, aliases) plus the dialect and what the case expects.
// Every choice is an integer that shrinks towards 0, and 0 is always the simplest choice.
import fc from 'fast-check';
import type { Dialect } from '../support/databases';
import type { ColRef } from './ast';
import { type Scalar, seedValues, type Ty } from './world';

/** Why a scoped run may be refused by design (the refusal is then expected, not questionable). */
export type Expectation = 'raw-scoped' | 'cte-shadow' | 'insert-select' | 'mysql-merge' | 'scope-increment';

const STRINGS = ['alpha', 'beta', 'design', 'open', 'done', 'todo', 'idea', 'u1', 'u2', 'looks good', 'zzz', ''];
const INTS = [0, 1, 2, 3, 4, 5, 11, 12, 21, 31, 100, 101, 201, 300, 501, 1001];

export class Gen {
  private aliases = 0;
  readonly expect = new Set<Expectation>();

  constructor(
    private readonly g: fc.GeneratorValue,
    readonly dialect: Dialect,
  ) {}

  int(min: number, max: number): number {
    return this.g(fc.integer, { min, max });
  }

  /** True with `percent` % probability; shrinks to false. */
  chance(percent: number): boolean {
    return this.int(0, 99) >= 100 - percent;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from nothing');
    return items[this.int(0, items.length - 1)] as T;
  }

  alias(): string {
    return `a${this.aliases++}`;
  }

  /** A value of the column's type, usually one that occurs in its seeded column. */
  value(c: ColRef): Scalar {
    if (c.from && this.chance(75)) {
      const [table, column] = c.from.split('.') as [string, string];
      const seeded = seedValues(table, column).filter((v) => v !== null);
      if (seeded.length > 0) return this.pick(seeded);
    }
    return this.literal(c.ty);
  }

  literal(ty: Ty): Scalar {
    return ty === 'int' ? this.pick(INTS) : this.pick(STRINGS);
  }
}

export const columnsOfType = (cols: readonly ColRef[], ty: Ty) => cols.filter((c) => c.ty === ty);
