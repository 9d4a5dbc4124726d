// The helpers under the real runners: the fixture suites in fixtures/ run by mocha, Vitest and
// Jest as child processes, and judged from their JSON reports.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const root = join(__dirname, '..', '..', '..');
const fixtures = join(__dirname, 'fixtures');
/** A package's file, by path inside the package (jest's `exports` hide its bin). */
const binOf = (name: string, file: string) => join(dirname(require.resolve(`${name}/package.json`)), file);

interface Outcome {
  readonly title: string;
  readonly status: 'passed' | 'failed' | 'pending';
  readonly message: string;
}

/** Runs a runner to completion (a failing fixture test exits non-zero: expected) and reads its report. */
function run(args: readonly string[], report: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      args,
      { cwd: root, timeout: 120_000, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } },
      (error, stdout, stderr) => {
        try {
          resolve(report === '-' ? stdout : readFileSync(report, 'utf8'));
        } catch {
          reject(new Error(`no report from ${args.join(' ')}: ${error?.message}\n${stderr}${stdout}`));
        }
      },
    );
  });
}

interface JestLikeReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  testResults: { assertionResults: { title: string; status: string; failureMessages: string[] }[] }[];
}

function jestLike(json: string): { counts: [number, number, number]; tests: Outcome[] } {
  const report = JSON.parse(json) as JestLikeReport;
  const tests = report.testResults.flatMap((file) =>
    file.assertionResults.map((test) => ({
      title: test.title,
      status: (test.status === 'passed'
        ? 'passed'
        : test.status === 'failed'
          ? 'failed'
          : 'pending') as Outcome['status'],
      message: test.failureMessages.join('\n'),
    })),
  );
  return { counts: [report.numPassedTests, report.numFailedTests, report.numPendingTests], tests };
}

interface MochaReport {
  stats: { passes: number; failures: number; pending: number };
  passes: { title: string }[];
  failures: { title: string; err: { message: string; code?: string } }[];
  pending: { title: string }[];
}

function mochaReport(json: string): { counts: [number, number, number]; tests: Outcome[] } {
  const report = JSON.parse(json) as MochaReport;
  const tests: Outcome[] = [
    ...report.passes.map((t) => ({ title: t.title, status: 'passed' as const, message: '' })),
    ...report.failures.map((t) => ({
      title: t.title,
      status: 'failed' as const,
      message: `${t.err.code}: ${t.err.message}`,
    })),
    ...report.pending.map((t) => ({ title: t.title, status: 'pending' as const, message: '' })),
  ];
  return { counts: [report.stats.passes, report.stats.failures, report.stats.pending], tests };
}

const statusOf = (tests: Outcome[], title: string) => tests.filter((t) => t.title === title).map((t) => t.status);

describe('testing: the helpers under the real runners', function () {
  this.timeout(180_000);
  const reports = new Map<string, { counts: [number, number, number]; tests: Outcome[] }>();
  let scratch: string;

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'knex-scopes-testing-'));
    const vitestReport = join(scratch, 'vitest.json');
    const jestReport = join(scratch, 'jest.json');
    const mocha = [binOf('mocha', 'bin/mocha.js'), '--config', join(fixtures, 'mocharc.cjs'), '--reporter', 'json'];
    const [mochaMain, mochaOnly, vitest, jest] = await Promise.all([
      // scoped before unscoped: a scope must not leak from one test to the next
      run([...mocha, join(fixtures, 'mocha', 'scoped.test.js'), join(fixtures, 'mocha', 'unscoped.test.js')], '-'),
      run([...mocha, join(fixtures, 'mocha', 'only.test.js')], '-'),
      run(
        [
          binOf('vitest', 'vitest.mjs'),
          'run',
          '--config',
          join(fixtures, 'vitest.config.mjs'),
          '--reporter=json',
          `--outputFile=${vitestReport}`,
        ],
        vitestReport,
      ),
      run(
        [
          binOf('jest', 'bin/jest.js'),
          '--config',
          join(fixtures, 'jest.config.cjs'),
          '--json',
          `--outputFile=${jestReport}`,
        ],
        jestReport,
      ),
    ]);
    reports.set('mocha', mochaReport(mochaMain));
    reports.set('mocha .only', mochaReport(mochaOnly));
    reports.set('vitest', jestLike(vitest));
    reports.set('jest', jestLike(jest));
  });

  after(() => rmSync(scratch, { recursive: true, force: true }));

  // [passed, failed, pending]
  const expected: Record<string, [number, number, number]> = {
    mocha: [6, 1, 1],
    'mocha .only': [1, 0, 0],
    vitest: [9, 1, 2],
    jest: [9, 1, 2],
  };

  for (const [runner, counts] of Object.entries(expected)) {
    it(`${runner}: ${counts[0]} passed, ${counts[1]} failed, ${counts[2]} skipped, as the fixtures intend`, () => {
      const report = reports.get(runner)!;
      const failures = report.tests.filter((t) => t.status === 'failed' && t.title !== 'forgot the scope');
      assert.deepEqual(failures, [], 'unexpected failures');
      assert.deepEqual(report.counts, counts);
    });
  }

  for (const runner of ['mocha', 'vitest', 'jest']) {
    it(`${runner}: the test that forgot its scope fails with SCOPE_MISSING`, () => {
      const forgot = reports.get(runner)!.tests.filter((t) => t.title === 'forgot the scope');
      assert.equal(forgot.length, 1);
      assert.equal(forgot[0]!.status, 'failed');
      // mocha reports `code: message`; Vitest and Jest the error's name and message
      assert.match(
        forgot[0]!.message,
        runner === 'mocha'
          ? /^SCOPE_MISSING: A scope on dimension\(s\) tenant needs/
          : /ScopeError: A scope on dimension\(s\) tenant needs/,
      );
    });

    it(`${runner}: inScope, scopedTest, .skip, assertRefused and the rollback between tests`, () => {
      const { tests } = reports.get(runner)!;
      for (const title of [
        'assertRefused: the code path refuses without a scope',
        'a test writes a row',
        'the next test does not see it: rolled back',
        'scopedTest: every test in the scope',
      ]) {
        assert.deepEqual(statusOf(tests, title), ['passed'], title);
      }
      assert.deepEqual(statusOf(tests, 'scopedTest.skip: skipped'), ['pending']);
      assert.equal(tests.filter((t) => t.title.startsWith('inScope')).length, runner === 'vitest' ? 1 : 2);
      assert.ok(tests.filter((t) => t.title.startsWith('inScope')).every((t) => t.status === 'passed'));
    });
  }

  for (const runner of ['mocha .only', 'vitest', 'jest']) {
    it(`${runner}: scopedTest(...).only runs that test only, in the scope`, () => {
      const { tests } = reports.get(runner)!;
      assert.deepEqual(statusOf(tests, 'scopedTest.only: runs, in the scope'), ['passed']);
      // mocha leaves the others out of its report; Vitest and Jest list them as skipped
      assert.deepEqual(statusOf(tests, 'left out by .only'), runner === 'mocha .only' ? [] : ['pending']);
    });
  }

  it('vitest: scopedTest over test.extend() keeps fixtures working', () => {
    assert.deepEqual(statusOf(reports.get('vitest')!.tests, 'scopedTest over test.extend: fixtures and the scope'), [
      'passed',
    ]);
  });

  it('vitest and jest: scopedTest.each runs each row in the scope', () => {
    for (const runner of ['vitest', 'jest']) {
      const rows = reports.get(runner)!.tests.filter((t) => t.title.startsWith('scopedTest.each'));
      assert.deepEqual(
        rows.map((t) => `${t.title}: ${t.status}`),
        ['scopedTest.each, row 1: passed', 'scopedTest.each, row 2: passed'],
        runner,
      );
    }
  });
});
