// A fuzz case: an oracle scope and a read or a write, generated for one dialect, printed as the
// Knex chain that runs it.
import fc from 'fast-check';
import type { Dialect } from '../support/databases';
import type { Read, Write } from './ast';
import { type Expectation, Gen, type GenOptions } from './gen-context';
import { genRead } from './gen-read';
import { genWrite } from './gen-write';
import { printRead, printWrite } from './printer';
import { describeScope, ORACLE_SCOPES } from './world';

export interface Case {
  /** Index into ORACLE_SCOPES. */
  readonly scope: number;
  readonly op: { readonly k: 'read'; readonly q: Read } | { readonly k: 'write'; readonly w: Write };
  readonly expect: ReadonlySet<Expectation>;
  /** The attack classes of issue 21 it exercises (`c4:window raw`). */
  readonly tags: ReadonlySet<string>;
}

export function printCase(c: Case): string {
  const code = c.op.k === 'read' ? printRead(c.op.q) : printWrite(c.op.w);
  const expect = c.expect.size > 0 ? ` (may be refused: ${[...c.expect].join(', ')})` : '';
  const tags = c.tags.size > 0 ? ` [issue 21: ${[...c.tags].join('; ')}]` : '';
  return `scope(${describeScope(ORACLE_SCOPES[c.scope]!.values)}, () => ${code})${expect}${tags}`;
}

export interface CaseOptions extends GenOptions {
  /**
   * Only cases this accepts (FUZZ_FOCUS): drawn again from the same generator until one is, as
   * fast-check's filter() does not terminate on fc.gen().
   */
  readonly accept?: (c: Case) => boolean;
}

function drawCase(g: fc.GeneratorValue, dialect: Dialect, options: GenOptions): Case {
  const x = new Gen(g, dialect, options);
  // the empty-list scope is the least interesting: rarer
  const scope = x.int(0, 9) === 9 ? ORACLE_SCOPES.length - 1 : x.int(0, ORACLE_SCOPES.length - 2);
  x.scope = ORACLE_SCOPES[scope]!.values;
  const op = x.chance(40) ? { k: 'write' as const, w: genWrite(x) } : { k: 'read' as const, q: genRead(x) };
  const value: Case = { scope, op, expect: x.expect, tags: x.tags };
  Object.defineProperty(value, fc.toStringMethod, { value: () => printCase(value) });
  return value;
}

export function caseArbitrary(dialect: Dialect, options: CaseOptions = {}): fc.Arbitrary<Case> {
  return fc.gen().map((g) => {
    let c = drawCase(g, dialect, options);
    for (let i = 0; options.accept && !options.accept(c) && i < 1000; i++) c = drawCase(g, dialect, options);
    return c;
  });
}
