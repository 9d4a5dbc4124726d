// A fuzz case: an oracle scope and a read or a write, generated for one dialect, printed as the
// Knex chain that runs it.
import fc from 'fast-check';
import type { Dialect } from '../support/databases';
import type { Read, Write } from './ast';
import { type Expectation, Gen } from './gen-context';
import { genRead } from './gen-read';
import { genWrite } from './gen-write';
import { printRead, printWrite } from './printer';
import { describeScope, ORACLE_SCOPES } from './world';

export interface Case {
  /** Index into ORACLE_SCOPES. */
  readonly scope: number;
  readonly op: { readonly k: 'read'; readonly q: Read } | { readonly k: 'write'; readonly w: Write };
  readonly expect: ReadonlySet<Expectation>;
}

export function printCase(c: Case): string {
  const code = c.op.k === 'read' ? printRead(c.op.q) : printWrite(c.op.w);
  const expect = c.expect.size > 0 ? ` (may be refused: ${[...c.expect].join(', ')})` : '';
  return `scope(${describeScope(ORACLE_SCOPES[c.scope]!.values)}, () => ${code})${expect}`;
}

export function caseArbitrary(dialect: Dialect): fc.Arbitrary<Case> {
  return fc.gen().map((g) => {
    const x = new Gen(g, dialect);
    // the empty-list scope is the least interesting: rarer
    const scope = x.int(0, 9) === 9 ? ORACLE_SCOPES.length - 1 : x.int(0, ORACLE_SCOPES.length - 2);
    const op = x.chance(40) ? { k: 'write' as const, w: genWrite(x) } : { k: 'read' as const, q: genRead(x) };
    const value: Case = { scope, op, expect: x.expect };
    Object.defineProperty(value, fc.toStringMethod, { value: () => printCase(value) });
    return value;
  });
}
