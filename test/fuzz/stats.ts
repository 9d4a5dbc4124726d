// What a fuzz run counted, per dialect, and its summary lines.

export interface Failure {
  readonly kind: 'leak' | 'mismatch';
  readonly classes: readonly string[];
  readonly text: string;
}

export interface Questionable {
  readonly code: string;
  readonly scope: string;
  readonly text: string;
}

export class FuzzStats {
  cases = 0;
  reads = 0;
  writes = 0;
  /** Reads or writes on which both runs raised the same kind of database error. */
  invalid = 0;
  leaks = 0;
  mismatches = 0;
  /** Writes that meet rows the scope cannot see (a key taken by one, an unscoped row one references):
   * the full database refuses or skips them, the oracle database cannot know. Not leaks. */
  collisions = 0;
  readonly refusals = new Map<string, number>();
  readonly expected = new Map<string, number>();
  /** Refusals of a write the oracle ran with an effect inside the scope. */
  readonly questionable: Questionable[] = [];
  /** Unbalanced raws the scoped run failed on (a database error) where the oracle's superset ran. */
  failedClosed = 0;
  /** Cases per attack class (c1…c11), and per shape (`c4:window raw`). */
  readonly classes = new Map<string, number>();
  readonly shapes = new Map<string, number>();
  /** FUZZ_KEEP_GOING=1: the failures, unshrunk, instead of stopping at the first. */
  readonly failures: Failure[] = [];
  readonly invalidCodes = new Map<string, number>();
  /** Scoped-side errors on queries shaped like a known finding (known-findings.ts). */
  readonly known = new Map<string, number>();
  /** Scoped reads rerun without the optimisation a server quirk needs off (server-quirks.ts). */
  readonly quirks = new Map<string, number>();
  /** Reads also run through the colocateJoins instance and compared with the oracle. */
  colocated = 0;
  /** Scoped reads that sent a deep path as a join (PostgreSQL, path-joins.ts). */
  pathJoins = 0;
  /** Cases with a value carrying toSqlString() (c11), and how many of them were refused (all must be). */
  sqlStrings = 0;
  sqlStringsRefused = 0;
  ms = 0;

  constructor(readonly dialect: string) {}

  refused(code: string, expected: boolean): void {
    this.refusals.set(code, (this.refusals.get(code) ?? 0) + 1);
    if (expected) this.expected.set(code, (this.expected.get(code) ?? 0) + 1);
  }

  attack(tags: Iterable<string>): void {
    const classes = new Set<string>();
    for (const tag of tags) {
      classes.add(tag.split(':')[0]!);
      this.shapes.set(tag, (this.shapes.get(tag) ?? 0) + 1);
    }
    for (const c of classes) this.classes.set(c, (this.classes.get(c) ?? 0) + 1);
  }

  knownFinding(name: string): void {
    this.known.set(name, (this.known.get(name) ?? 0) + 1);
  }

  serverQuirk(name: string): void {
    this.quirks.set(name, (this.quirks.get(name) ?? 0) + 1);
  }

  invalidQuery(code: string): void {
    this.invalid++;
    this.invalidCodes.set(code, (this.invalidCodes.get(code) ?? 0) + 1);
  }

  invalidRate(): number {
    return this.cases === 0 ? 0 : this.invalid / this.cases;
  }
}

const counts = (map: ReadonlyMap<string, number>) =>
  [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || 'none';

const byName = (map: ReadonlyMap<string, number>) =>
  [...map.entries()]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || 'none';

/**
 * FUZZ_KEEP_GOING=1: failures per attack class (`-`: none of them), counting the cases of that
 * class alone apart (a case may mix classes), with the first such case, unshrunk.
 */
export function failureLines(s: FuzzStats): string[] {
  const byClass = new Map<string, { leaks: number; mismatches: number; alone: number; first?: string }>();
  for (const f of s.failures) {
    const classes = f.classes.length > 0 ? f.classes : ['-'];
    for (const cls of classes) {
      const entry = byClass.get(cls) ?? { leaks: 0, mismatches: 0, alone: 0 };
      if (f.kind === 'leak') entry.leaks++;
      else entry.mismatches++;
      if (classes.length === 1) {
        entry.alone++;
        entry.first ??= f.text;
      }
      byClass.set(cls, entry);
    }
  }
  return [...byClass.entries()]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(
      ([cls, e]) =>
        `[fuzz] ${s.dialect} ${cls}: leaks ${e.leaks}, mismatches ${e.mismatches}, ${e.alone} with no other class` +
        (e.first ? `; first of those: ${e.first}` : ''),
    );
}

const percent = (n: number) => `${(n * 100).toFixed(1)}%`;

export function dialectLine(s: FuzzStats, seed: number): string {
  return (
    `[fuzz] ${s.dialect}: ${s.cases} cases (${s.reads} reads, ${s.writes} writes), seed ${seed}, ` +
    `leaks ${s.leaks}, mismatches ${s.mismatches}, refusals: ${counts(s.refusals)}; ` +
    `invalid ${s.invalid} (${percent(s.invalidRate())}), collisions ${s.collisions}, ` +
    `questionable refusals ${s.questionable.length}, known findings hit: ${counts(s.known)}, ` +
    `server quirks rerun: ${counts(s.quirks)}, colocated reads ${s.colocated}, path joins ${s.pathJoins}, ` +
    `unbalanced raws failed closed ${s.failedClosed}, ` +
    `toSqlString values refused ${s.sqlStringsRefused} of ${s.sqlStrings}, issue-21 classes: ${byName(s.classes)}, ` +
    `${(s.ms / 1000).toFixed(1)} s`
  );
}

export function summaryLine(all: readonly FuzzStats[], seed: number): string {
  const sum = (f: (s: FuzzStats) => number) => all.reduce((n, s) => n + f(s), 0);
  const refusals = new Map<string, number>();
  for (const s of all) for (const [k, n] of s.refusals) refusals.set(k, (refusals.get(k) ?? 0) + n);
  const cases = sum((s) => s.cases);
  return (
    `[fuzz] summary: ${cases} cases on ${all.length} dialect(s) (${all.map((s) => `${s.dialect} ${s.cases}`).join(', ')}), ` +
    `seed ${seed}, leaks ${sum((s) => s.leaks)}, mismatches ${sum((s) => s.mismatches)}, refusals: ${counts(refusals)}; ` +
    `invalid ${percent(cases === 0 ? 0 : sum((s) => s.invalid) / cases)}, ` +
    `${(sum((s) => s.ms) / 1000).toFixed(1)} s`
  );
}
