// Every TypeScript block of README.md and docs/*.md is compiled (strict, as an ES module, top-level
// await allowed) and run, so the documentation cannot drift from the API.
//
// Conventions for writers, as an HTML comment on the line right before a block:
//   <!-- snippet: compile-only -->  type-checked, not run (it listens on a port, needs a server…)
//   <!-- snippet: skip -->          neither (use sparingly: say why in the text)
//   <!-- snippet: continue -->      this block continues the previous one of the page (one module;
//                                   its output block shows only what it adds)
//   <!-- snippet: mocha -->         a test file: run by mocha (describe/it are globals), must pass
//   <!-- snippet: output -->        before a block of any language: the text the previous block
//                                   prints (console.log), compared line by line
//   <!-- snippet: prelude
//   import knex from 'knex';
//   const db = …;
//   -->                             hidden code put before every later block of the page
//                                   (until the next prelude; an empty one ends it)
// A run starts in a scratch folder (.cache/snippets), imports packages by name like an app, and
// ends when the module has finished: snippets need not destroy their Knex instance. Use an
// in-memory SQLite database (`connection: { filename: ':memory:' }`) for runnable examples.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { extractSnippets, type Program, programsOf, tidy } from './markdown-snippets';
import { augments, type Diagnostic, typecheck } from './typecheck';

const root = join(__dirname, '..', '..');
const scratch = join(root, '.cache', 'snippets');
/** Not user documentation: a developer note whose blocks are fragments of mocha suites. */
const EXCLUDED = new Set(['docs/testing.md']);
const PACKAGES = [
  '@knex-scopes/core',
  '@knex-scopes/core/http',
  '@knex-scopes/express',
  '@knex-scopes/koa',
  '@knex-scopes/fastify',
];

function pages(): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`)
    .filter((page) => !EXCLUDED.has(page))
    .sort();
  return ['README.md', ...docs];
}

function fileName(program: Program): string {
  const slug = program.snippet.page.replace(/\.md$/, '').replace(/[^A-Za-z0-9]+/g, '-');
  return join(scratch, `${slug}-L${program.snippet.line}.mts`);
}

interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const MOCHA = require.resolve('mocha/bin/mocha.js');

function runSnippet(file: string, asMochaSuite: boolean): Promise<RunResult> {
  const args = asMochaSuite
    ? ['--import', 'tsx', MOCHA, '--no-config', '--reporter', 'dot', '--timeout', '20000', '--exit', file]
    : ['--import', 'tsx', join(__dirname, 'run-snippet.mjs'), file];
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: scratch, timeout: 60_000, encoding: 'utf8' }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error.code as number) ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function inPool<T, R>(items: readonly T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
  return results;
}

function where(program: Program, diagnostic: Diagnostic): string {
  const origin = program.origins[diagnostic.line - 1];
  if (origin === undefined) return `${program.snippet.page}:${program.snippet.line}`;
  return origin === 'prelude' ? `${program.snippet.page} (prelude)` : `${origin.page}:${origin.line}`;
}

const programs = pages().flatMap((page) => programsOf(extractSnippets(page, readFileSync(join(root, page), 'utf8'))));
const checked = programs.filter((p) => !p.snippet.flags.has('skip'));
const runnable = checked.filter((p) => !p.snippet.flags.has('compile-only'));

describe('docs: every TypeScript block of README.md and docs/*.md', () => {
  let diagnostics: Map<string, Diagnostic[]>;
  const runs = new Map<Program, RunResult>();

  before(async function () {
    this.timeout(600_000);
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(scratch, { recursive: true });
    for (const program of checked) writeFileSync(fileName(program), `${program.source}\nexport {};\n`);
    const companion = join(scratch, 'packages.mts');
    writeFileSync(companion, `${PACKAGES.map((name) => `import '${name}';`).join('\n')}\nexport {};\n`);
    diagnostics = typecheck(checked.map(fileName), (file) => augments(readFileSync(file, 'utf8')), companion);
    const results = await inPool(runnable, 2, (program) =>
      runSnippet(fileName(program), program.snippet.flags.has('mocha')),
    );
    runnable.forEach((program, i) => {
      runs.set(program, results[i] as RunResult);
    });
  });

  it('finds the blocks, and skips few of them', () => {
    assert.ok(checked.length > 0, 'no TypeScript block found');
    const skipped = programs.filter((p) => p.snippet.flags.has('skip'));
    assert.ok(skipped.length <= Math.max(2, programs.length / 10), `too many skipped blocks: ${skipped.length}`);
  });

  for (const program of checked) {
    const { page, line, flags } = program.snippet;
    const title = `${page}:${line}`;
    it(`${title} compiles`, () => {
      const found = diagnostics.get(fileName(program)) ?? [];
      const report = found.map((d) => `${where(program, d)}: ${d.message}`).join('\n');
      assert.equal(
        found.length,
        0,
        `type errors in the block at ${title} (${relative(root, fileName(program))}):\n${report}`,
      );
    });
    if (flags.has('compile-only')) continue;
    it(`${title} runs${program.snippet.output ? ' and prints what the page shows' : ''}`, () => {
      const result = runs.get(program);
      assert.ok(result);
      assert.equal(result.code, 0, `the block at ${title} failed:\n${result.stderr}${result.stdout}`);
      const expected = program.snippet.output;
      if (expected) {
        // A continued block shows only what it adds to the output of the blocks before it.
        const earlier = program.continues && runs.get(program.continues);
        const printed = tidy(result.stdout);
        const own =
          earlier && printed.startsWith(tidy(earlier.stdout)) ? printed.slice(tidy(earlier.stdout).length) : printed;
        assert.equal(tidy(own), tidy(expected.text), `output of ${title}, shown at ${page}:${expected.line}`);
      }
    });
  }
});
