// The READMEs as a new user meets them (issue 24): the packages packed as npm would publish them,
// installed into a fresh ES-module project and a fresh CommonJS project (what `npm init` makes)
// with exactly what the READMEs' install lines name, and every TypeScript block of the READMEs
// type-checked by the project's own `tsc` and run by `tsx` there, as written.
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { extractSnippets, type Program, programsOf, tidy } from '../docs/markdown-snippets';
import { driversOf, importsOf, installLinesOf, typesPackageFor } from './install-lines';

const root = join(__dirname, '..', '..');
// Outside the repository, so that nothing resolves from its node_modules by walking up.
const work = join(tmpdir(), 'knex-scopes-fresh-projects');
const PACKAGES = readdirSync(join(root, 'packages')).filter((name) =>
  existsSync(join(root, 'packages', name, 'package.json')),
);

/** The READMEs a user reads first: the repository's and each package's (shown on the registry). */
const PAGES = ['README.md', ...PACKAGES.map((name) => `packages/${name}/README.md`)].filter((page) =>
  existsSync(join(root, page)),
);

/** The example apps (examples/<framework>), run from a fresh project as a user copies them. */
const EXAMPLES = ['express', 'koa', 'fastify'] as const;

/** What the examples install: their own dependencies, the shared part packed like ours. */
function exampleDependencies(): string[] {
  const names = new Set<string>();
  for (const dir of [...EXAMPLES, 'shared']) {
    const manifest = JSON.parse(readFileSync(join(root, 'examples', dir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    for (const [name, range] of Object.entries({ ...manifest.dependencies, ...manifest.devDependencies })) {
      if (!name.startsWith('@knex-scopes/') && name !== 'knex-scopes-example-shared') names.add(`${name}@${range}`);
    }
  }
  return [...names];
}

const KINDS = [
  { kind: 'esm', type: 'module' },
  { kind: 'cjs', type: 'commonjs' }, // what `npm init -y` writes today
] as const;

interface Page {
  readonly page: string;
  readonly programs: readonly Program[];
  readonly lines: ReturnType<typeof installLinesOf>;
  readonly needs: ReadonlySet<string>;
  readonly needsDev: ReadonlySet<string>;
}

function readPage(page: string): Page {
  const text = readFileSync(join(root, page), 'utf8');
  const programs = programsOf(extractSnippets(page, text)).filter((p) => !p.snippet.flags.has('skip'));
  const needs = new Set<string>();
  const needsDev = new Set<string>(programs.length > 0 ? ['typescript', 'tsx'] : []);
  for (const program of programs) {
    for (const name of importsOf(program.snippet.code)) {
      needs.add(name);
      const types = typesPackageFor(name, root);
      if (types) needsDev.add(types);
    }
    for (const driver of driversOf(program.snippet.code)) needs.add(driver);
  }
  return { page, programs, lines: installLinesOf(text), needs, needsDev };
}

const pages = PAGES.map(readPage);

/** Blocks run with tsx: all but compile-only ones and the files of an app layout (test files, modules). */
function runs(program: Program): boolean {
  return !program.snippet.flags.has('compile-only') && layoutPath(program) === undefined;
}

function slug(program: Program): string {
  return `${program.snippet.page.replace(/\.md$/, '').replace(/[^A-Za-z0-9]+/g, '-')}-L${program.snippet.line}`;
}

/** A block that is one file of an app (`// src/db.ts` on its first line): where it goes. */
function layoutPath(program: Program): string | undefined {
  return /^\/\/ ((?:[\w.-]+\/)*[\w.-]+\.ts)\b/.exec(program.snippet.code)?.[1];
}

/**
 * Where each block is written. A plain block is a module of its own at the top. The files of an
 * app layout (src/db.ts, test/setup.ts importing '../src/db') go together under `layout-<page>-N/`,
 * so their relative imports resolve; a file written twice (the Vitest variant of test/setup.ts)
 * starts the next layout, which keeps the other files of the previous one.
 */
function layout(all: readonly Program[]): { placed: Map<Program, string>; files: Map<string, Program> } {
  const placed = new Map<Program, string>();
  const files = new Map<string, Program>(); // every file to write, by its path in the project
  let page = '';
  let group = 0;
  let current = new Map<string, Program>();
  let written = new Set<string>();
  for (const program of all) {
    const path = layoutPath(program);
    if (path === undefined) {
      placed.set(program, `${slug(program)}.ts`);
      files.set(`${slug(program)}.ts`, program);
      continue;
    }
    if (program.snippet.page !== page) {
      [page, group, current, written] = [program.snippet.page, 0, new Map(), new Set()];
    } else if (written.has(path)) {
      [group, written] = [group + 1, new Set()];
    }
    written.add(path);
    current.set(path, program);
    const dir = `layout-${page.replace(/\.md$/, '').replace(/[^A-Za-z0-9]+/g, '-')}-${group}`;
    placed.set(program, `${dir}/${path}`);
    for (const [file, source] of current) files.set(`${dir}/${file}`, source);
  }
  return { placed, files };
}

interface RunResult {
  readonly code: number;
  readonly out: string;
  /** Still running when the time was up (ended by the test): a server that started. */
  readonly timedOut: boolean;
}

/** What a reader's shell would have set: the secrets the examples read from the environment. */
const SNIPPET_ENV = {
  ...process.env,
  SESSION_SECRET: 'a-session-secret-of-at-least-32-characters!',
  JWT_SECRET: 'a-jwt-secret-of-at-least-32-characters!!',
};

function run(command: string, args: readonly string[], cwd: string, timeout: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const options = { cwd, timeout, env: SNIPPET_ENV, encoding: 'utf8' as const, maxBuffer: 16 * 1024 * 1024 };
    execFile(command, args, options, (error, stdout, stderr) =>
      resolve({
        code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
        out: `${stdout}${stderr}`,
        timedOut: error?.killed === true,
      }),
    );
  });
}

/** A block that starts a server (`app.listen(…)`): it runs when it is still serving after a while. */
function isServer(program: Program): boolean {
  return /\.listen\(/.test(program.source);
}

/** A block that augments a module (`declare module`, `declare global`): type-checked on its own,
 * since in one program its augmentation would change the types every other block sees. */
function augments(source: string): boolean {
  return /^\s*declare\s+(module\s+['"]|global\b)/m.test(source);
}

/**
 * Starts an example as its README says (`tsx src/server.ts`, here on a free port), waits for its
 * banner, asks a few routes, and stops it. Resolves to the statuses it answered.
 */
function runExample(cwd: string, script: string): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd,
      env: { ...SNIPPET_ENV, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`${script} printed no banner within 60 s:\n${out}`));
    }, 60_000);
    const get = async (port: number, path: string, host = `acme.localhost:${port}`) =>
      new Promise<number>((done, fail) => {
        const req = http.get({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
          res.resume();
          done(res.statusCode ?? 0);
        });
        req.on('error', fail);
      });
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const port = /Listening on http:\/\/localhost:(\d+)/.exec(out)?.[1];
      if (port === undefined) return;
      child.stdout.off('data', onData);
      clearTimeout(timer);
      const p = Number(port);
      Promise.all([get(p, '/health'), get(p, '/api/projects'), get(p, '/api/projects', `127.0.0.1:${p}`)])
        .then(([health, projects, projectsWithoutTenant]) => resolve({ health, projects, projectsWithoutTenant }))
        .catch(reject)
        .finally(() => child.kill());
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!/Listening on/.test(out)) reject(new Error(`${script} exited (${code}) before listening:\n${out}`));
    });
  });
}

describe('install lines: each README names what its blocks import', () => {
  for (const { page, needs, needsDev, lines } of pages) {
    if (needs.size === 0) continue;
    it(`${page}: npm install names ${[...needs].join(', ')}`, () => {
      const named = new Set([...lines.runtime, ...lines.dev]);
      assert.deepEqual(
        [...needs].filter((name) => !named.has(name)),
        [],
        `${page} imports these without an install line naming them`,
      );
      assert.deepEqual(
        [...needsDev].filter((name) => !named.has(name)),
        [],
        `${page} has TypeScript blocks: its install lines should name these (as --save-dev)`,
      );
    });
  }
});

describe('fresh projects: the packed packages and the README blocks, in ESM and CommonJS', function () {
  this.timeout(600_000);
  const installs = new Set<string>();
  for (const { lines } of pages) for (const name of [...lines.runtime, ...lines.dev]) installs.add(name);
  const tarballs = new Map<string, string>();
  const results = new Map<string, RunResult>();
  const programs = pages.flatMap((p) => p.programs);
  const { placed, files } = layout(programs);

  before(async () => {
    rmSync(work, { recursive: true, force: true });
    const packed = join(work, 'tarballs');
    mkdirSync(packed, { recursive: true });
    const out = execFileSync(
      'npm',
      [
        'pack',
        '--json',
        '--ignore-scripts',
        '--pack-destination',
        packed,
        ...PACKAGES.map((p) => `-w=packages/${p}`),
        '-w=examples/shared',
      ],
      { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    for (const entry of JSON.parse(out) as Array<{ name: string; filename: string }>) {
      tarballs.set(entry.name, join(packed, entry.filename));
    }
    // One after the other: two npm installs at once race on the shared cache (ENOENT seen).
    for (const { kind, type } of KINDS) await prepare(kind, type);
  });

  async function prepare(kind: string, type: string): Promise<void> {
    const dir = join(work, kind);
    mkdirSync(dir, { recursive: true });
    const isolated = [...files]
      .filter(([file, p]) => !file.startsWith('layout-') && augments(p.source))
      .map(([f]) => f);
    writeFileSync(
      join(dir, 'package.json'),
      `${JSON.stringify({ name: `fresh-${kind}`, version: '1.0.0', private: true, type }, null, 2)}\n`,
    );
    // What a user's tsconfig would say for Node: NodeNext, so the package.json's type decides
    // whether a .ts file is an ES module or CommonJS, exactly as Node and tsx decide it.
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          target: 'es2022',
          strict: true,
          esModuleInterop: true,
          skipLibCheck: true,
          noEmit: true,
          types: ['node', 'mocha'], // the mocha quick start's globals (describe, it)
        },
        include: ['*.ts', 'layout-*/**/*.ts'],
        exclude: isolated,
      }),
    );
    // Each augmenting block in a program of its own, extending the main config.
    // With the packages imported, as any app does somewhere, so that a block that only augments
    // one finds it.
    const companion = [...tarballs.keys(), '@knex-scopes/core/http']
      .filter((n) => n.startsWith('@knex-scopes/'))
      .map((name) => `import '${name}';`);
    writeFileSync(join(dir, 'companion.ts'), `${companion.join('\n')}\nexport {};\n`);
    isolated.forEach((file, i) => {
      const config = { extends: './tsconfig.json', include: [file, 'companion.ts'], exclude: [] };
      writeFileSync(join(dir, `tsconfig.${i}.json`), JSON.stringify(config));
    });
    // @types/mocha: the mocha quick start's test files use its globals, as a mocha project has.
    const specs = [...installs, '@types/mocha'].map((name) => tarballs.get(name) ?? name);
    // Our packages depend on each other by version: the tarballs, not the registry's copies.
    for (const [name, file] of tarballs) if (!installs.has(name)) specs.push(file);
    specs.push(...exampleDependencies());
    const install = await run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', '--loglevel=error', ...specs],
      dir,
      300_000,
    );
    assert.equal(install.code, 0, `npm install in the ${kind} project failed:\n${install.out}`);
    // Install scripts are skipped (better-sqlite3 would compile from source for minutes): its
    // native module is the one this repository built, for the same Node.
    const native = join('node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
    if (existsSync(join(dir, 'node_modules', 'better-sqlite3'))) {
      mkdirSync(join(dir, 'node_modules', 'better-sqlite3', 'build', 'Release'), { recursive: true });
      // (under `npm run test:node`, the addon built for the Node release the suite runs on)
      copyFileSync(process.env.KNEX_SCOPES_SQLITE_BINDING || join(root, native), join(dir, native));
    }
    for (const example of EXAMPLES) {
      cpSync(join(root, 'examples', example, 'src'), join(dir, `example-${example}`, 'src'), { recursive: true });
    }
    for (const [file, program] of files) {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      writeFileSync(join(dir, file), `${program.source}\n`);
    }
    const tsc = join(dir, 'node_modules', 'typescript', 'bin', 'tsc');
    const checks = ['tsconfig.json', ...isolated.map((_, i) => `tsconfig.${i}.json`)];
    const checked = await Promise.all(checks.map((config) => run(process.execPath, [tsc, '-p', config], dir, 300_000)));
    results.set(`${kind} tsc`, {
      code: checked.some((r) => r.code !== 0) ? 1 : 0,
      out: checked.map((r) => r.out).join('\n'),
      timedOut: checked.some((r) => r.timedOut),
    });
    for (const program of programs.filter(runs)) {
      const file = placed.get(program) as string;
      const timeout = isServer(program) ? 10_000 : 60_000;
      results.set(`${kind} ${file}`, await run(process.execPath, ['--import', 'tsx', file], dir, timeout));
    }
  }

  it('packs every package', () => {
    for (const name of PACKAGES) assert.ok(tarballs.has(`@knex-scopes/${name}`), `@knex-scopes/${name} packed`);
  });

  for (const { kind } of KINDS) {
    for (const example of EXAMPLES) {
      it(`${kind}: the ${example} example starts, seeds its database and answers over HTTP`, async () => {
        const answers = await runExample(join(work, kind), `example-${example}/src/server.ts`);
        assert.deepEqual(answers, { health: 200, projects: 200, projectsWithoutTenant: 400 });
      });
    }
    it(`${kind}: every README block type-checks with the project's tsc`, () => {
      const tsc = results.get(`${kind} tsc`);
      assert.ok(tsc);
      assert.equal(tsc.code, 0, `tsc in ${join(work, kind)}:\n${tsc.out}`);
    });
    for (const program of programs.filter(runs)) {
      const { page, line } = program.snippet;
      it(`${kind}: ${page}:${line} runs with tsx as written`, () => {
        const result = results.get(`${kind} ${placed.get(program)}`);
        assert.ok(result);
        if (isServer(program)) {
          // Started and still serving when stopped, with nothing on its output (no error).
          assert.ok(
            result.timedOut && result.out.trim() === '',
            `${page}:${line} in the ${kind} project:\n${result.out}`,
          );
          return;
        }
        assert.equal(result.code, 0, `${page}:${line} in the ${kind} project:\n${result.out}`);
        const expected = program.snippet.output;
        if (expected) {
          assert.equal(tidy(result.out), tidy(expected.text), `output of ${page}:${line}`);
        }
      });
    }
  }
});
