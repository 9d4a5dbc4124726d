// `knex-scopes doctor` end to end: the built CLI spawned against a config file in a temp dir
// that points at the suite's database, on every dialect.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DoctorReport } from '@knex-scopes/doctor';
import { prepareDatabase } from 'knex-scopes-example-shared';
import { forEachDialect } from '../../../test/support/databases';

const root = join(__dirname, '..', '..', '..');
const cli = join(dirname(require.resolve('@knex-scopes/doctor/package.json')), 'dist', 'cli.js');
const core = require.resolve('@knex-scopes/core');
const exampleScopes = join(root, 'examples', 'shared', 'src', 'scopes.ts');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function doctor(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    // From the repository root, where the TypeScript config finds tsx.
    const child = spawn(process.execPath, [cli, 'doctor', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

forEachDialect('doctor CLI', (db) => {
  let dir = '';
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  // The suite's connection, as JSON (functions such as SQLite's afterCreate are not needed to read).
  const knexJson = () => JSON.stringify(db.config());

  before(async function () {
    this.timeout(60_000);
    dir = mkdtempSync(join(tmpdir(), 'knex-scopes-doctor-'));
    await prepareDatabase(db.knex());
    await db.knex().schema.createTable('audit_log', (t) => {
      t.increments('id');
      t.integer('organization_id').notNullable();
      t.string('action', 50);
    });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("names the undeclared table and exits 1 (the examples' own TypeScript declaration, through tsx)", async () => {
    const config = file(
      'knex-scopes.config.ts',
      `import { scopes } from ${JSON.stringify(exampleScopes.replace(/\.ts$/, ''))};\n` +
        `export default { scopes, knex: ${knexJson()} };\n`,
    );
    const run = await doctor('--config', config);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /^knex-scopes doctor: (SQLite|PostgreSQL|MySQL\/MariaDB)/);
    assert.match(run.stdout, /^error UNDECLARED_TABLE audit_log$/m);
    assert.match(run.stdout, /"audit_log" has the tenant column "organization_id"/);
    assert.match(run.stdout, /^ {9}audit_log: \{ tenant: 'organization_id' \},$/m);
    assert.match(run.stdout, /^1 error, \d+ warnings?\.$/m);
    assert.equal(run.stderr, '');
  });

  it('--json prints the report for tools, with the same exit code', async () => {
    const config = file(
      'scopes.mjs',
      `import { defineScopes } from ${JSON.stringify(pathToFileURL(core).href)};\n` +
        "const tables = { organizations: { tenant: 'id' }, projects: { tenant: 'organization_id' } };\n" +
        `export default { scopes: defineScopes({ tables }), knex: ${knexJson()} };\n`,
    );
    const run = await doctor('--config', config, '--json');
    assert.equal(run.code, 1, run.stderr);
    const report = JSON.parse(run.stdout) as DoctorReport;
    assert.equal(report.dialect, db.dialect);
    const undeclared = report.findings.filter((f) => f.code === 'UNDECLARED_TABLE').map((f) => f.table);
    // users and jobs carry organization_id, tasks points into projects, and sessions and comments
    // into those undeclared tables (found in the same run, with the path through them).
    assert.deepEqual(undeclared.sort(), ['audit_log', 'comments', 'jobs', 'sessions', 'tasks', 'users']);
    assert.equal(report.errors, 6);
    const comments = report.findings.find((f) => f.table === 'comments');
    assert.match(comments?.message ?? '', /foreign key \(task_id\) into the undeclared tenant table "tasks"/);
    // Through the NOT NULL task_id, not the nullable author_id.
    assert.match(
      comments?.fix ?? '',
      /comments: \{ tenant: 'task_id -> tasks\.project_id -> projects\.organization_id' \},/,
    );
    assert.ok(
      report.findings.every((f) => f.message && f.why && f.fix && (f.level === 'error' || f.level === 'warning')),
    );
  });

  it('exits 0 when the table is listed as global (a CommonJS config exporting a function)', async () => {
    const config = file(
      'global.cjs',
      `const { defineScopes } = require(${JSON.stringify(core)});\n` +
        'module.exports = async () => ({\n' +
        '  scopes: defineScopes({ tables: {\n' +
        "    organizations: { tenant: 'id' }, users: { tenant: 'organization_id' },\n" +
        "    sessions: { tenant: 'user_id -> users.organization_id' }, projects: { tenant: 'organization_id' },\n" +
        "    tasks: { tenant: 'project_id -> projects.organization_id' },\n" +
        "    comments: { tenant: 'task_id -> tasks.project_id -> projects.organization_id' },\n" +
        "    jobs: { tenant: 'organization_id' },\n" +
        '  } }),\n' +
        `  knex: ${knexJson()},\n` +
        "  global: ['audit_log'],\n" +
        '});\n',
    );
    const clean = await doctor('--config', config);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    assert.match(clean.stdout, /^0 errors, \d+ warnings?\.$/m);
    // The examples keep warnings (indexes PostgreSQL and SQLite do not add for keys, comments.author_id).
    const strict = await doctor('--config', config, '--fail-on', 'warning');
    assert.equal(strict.code, 1);
    const json = JSON.parse((await doctor('--config', config, '--json')).stdout) as DoctorReport;
    assert.equal(json.errors, 0);
  });

  it('exits 2 when it cannot run: no file, a wrong export, a database it cannot reach, bad usage', async () => {
    const missing = await doctor('--config', join(dir, 'nope.js'));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /could not run \(CONFIG\): no config file at /);
    assert.equal(missing.stdout, '');

    const wrong = await doctor('--config', file('wrong.cjs', 'module.exports = { knex: {} };\n'), '--json');
    assert.equal(wrong.code, 2);
    assert.deepEqual(Object.keys(JSON.parse(wrong.stdout) as object), ['error']);
    assert.match(wrong.stderr, /`scopes` must be the result of defineScopes\(\)/);

    const config = db.config();
    const unreachable =
      db.dialect === 'sqlite'
        ? { ...config, connection: { filename: join(dir, 'no-such.sqlite3') } }
        : { ...config, connection: { ...(config.connection as object), database: 'ks_no_such_database' } };
    const down = await doctor(
      '--config',
      file(
        'down.cjs',
        `const { defineScopes } = require(${JSON.stringify(core)});\n` +
          "module.exports = { scopes: defineScopes({ tables: { projects: { tenant: 'organization_id' } } }),\n" +
          `  knex: ${JSON.stringify(unreachable)} };\n`,
      ),
    );
    assert.equal(down.code, 2, down.stdout);
    assert.match(down.stderr, /could not run \(CONNECTION\)/);

    assert.equal((await doctor()).code, 2); // --config is required
    assert.equal((await doctor('--config', 'x', '--fail-on', 'never')).code, 2);
  });
});
