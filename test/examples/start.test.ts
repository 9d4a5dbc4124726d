// The README's first minute, as a newcomer runs it: `npm start` (and `npm run example:koa`,
// `example:fastify`) start an example on a fresh SQLite file and print curl lines; every printed
// line is run, with curl itself when it is installed, and answers the status it announces.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { chooseDatabase, curlLine, demoIds, demos, openDatabase } from 'knex-scopes-example-shared';
import { forEachDialect } from '../support/databases';

const root = join(__dirname, '..', '..');
const hasCurl = (() => {
  try {
    execFileSync('curl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Starts `npm run <script>` in its own process group; resolves once the banner is printed. */
function startScript(script: string, databaseUrl: string): Promise<{ child: ChildProcess; output: string }> {
  const child = spawn('npm', ['run', '-s', script], {
    cwd: root,
    env: { ...process.env, PORT: '0', DATABASE_URL: databaseUrl },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ctrl-C stops the server.')) resolve({ child, output });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`npm run ${script} exited with ${code}:\n${output}`)));
  });
}

/** Runs a printed curl line (or, without curl, the same request through node:http). */
function run(line: string, port: number): Promise<{ status: number; body: string }> {
  if (hasCurl) {
    const out = execFileSync('sh', ['-c', `${line} -s -w '\\n%{http_code}'`], { encoding: 'utf8' });
    const at = out.lastIndexOf('\n');
    const body = out.slice(0, at).split('\r\n\r\n').at(-1) ?? ''; // without the headers of -i
    return Promise.resolve({ status: Number(out.slice(at + 1)), body });
  }
  const url = new URL(/http:\/\/\S+/.exec(line)?.[0] ?? '');
  const host = /-H 'Host: ([^']+)'/.exec(line)?.[1] ?? url.host;
  const form = [...line.matchAll(/ -d (\S+)/g)].map((m) => m[1]).join('&');
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: url.pathname,
        method: line.includes('-X POST') ? 'POST' : 'GET',
        headers: { host, ...(form && { 'content-type': 'application/x-www-form-urlencoded' }) },
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(form);
  });
}

/** The `$ curl …` lines of README.md on port 3000, each with the answer the README shows under it. */
function readmeTranscript(): Array<{ line: string; answer: string }> {
  const lines = readFileSync(join(root, 'README.md'), 'utf8').split('\n');
  return lines.flatMap((line, i) =>
    line.startsWith('$ curl ') && line.includes(':3000') ? [{ line: line.slice(2), answer: lines[i + 1] ?? '' }] : [],
  );
}

function getJson(port: number, host: string, path: string, method = 'GET'): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve(JSON.parse(body)));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Stops a started script (its whole process group) and waits for it. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  if (child.pid) process.kill(-child.pid, 'SIGINT');
  await exited;
}

/** The DATABASE_URL a user would write for a test database. */
function databaseUrl(config: Knex.Config): string {
  const c = config.connection as {
    filename?: string;
    host?: string;
    port?: number;
    user?: string;
    password?: string;
    database?: string;
  };
  if (config.client === 'better-sqlite3') return `sqlite:${c.filename}`;
  const auth = `${c.user}${c.password ? `:${encodeURIComponent(c.password)}` : ''}@`;
  const scheme = config.client === 'pg' ? 'postgres' : 'mysql';
  return `${scheme}://${auth}${c.host}:${c.port}/${c.database}`;
}

const scripts: Array<[string, string]> = [
  ['start', 'Express 5'],
  ['example:koa', 'Koa 3'],
  ['example:fastify', 'Fastify 5'],
];

describe(`examples: npm start and its curl lines (${hasCurl ? 'curl' : 'node:http, curl not installed'})`, () => {
  for (const [script, framework] of scripts) {
    it(`npm run ${script}: creates and seeds SQLite, prints curl lines that answer as announced`, async function () {
      this.timeout(90_000);
      const dir = mkdtempSync(join(tmpdir(), 'knex-scopes-example-'));
      const databaseUrl = `sqlite:${join(dir, 'example.sqlite3')}`;
      const { child, output } = await startScript(script, databaseUrl);
      const base = openDatabase(chooseDatabase(databaseUrl, ''));
      try {
        assert.match(output, new RegExp(`knex-scopes example: ${framework}, on SQLite .*created and seeded just now`));
        const port = Number(/Listening on http:\/\/localhost:(\d+)/.exec(output)?.[1]);
        const ids = await demoIds(base);
        for (const demo of demos(ids)) {
          const line = curlLine(demo, port);
          assert.ok(output.includes(`  ${line}\n`), `the banner shows: ${line}`);
          assert.equal((await run(line, port)).status, demo.status, line);
        }
        const fallback = /curl -i -H 'Host: acme\.localhost:\d+' \S+/.exec(output)?.[0];
        assert.ok(fallback, 'the banner shows the Host-header fallback');
        assert.equal((await run(fallback, port)).status, 200, fallback);
        if (script === 'start') {
          const transcript = readmeTranscript();
          assert.ok(transcript.length >= 3, 'README.md shows what the first curl lines answer');
          for (const { line, answer } of transcript) {
            assert.equal((await run(line.replace(':3000', `:${port}`), port)).body, answer, `README.md: ${line}`);
          }
        }

        // The job the banner queues runs in the server's worker, later, and finishes.
        const queued = await getJson(port, 'acme.localhost', `/api/projects/${ids.acmeProject}/summary`, 'POST');
        let job: Record<string, unknown> = {};
        for (let i = 0; i < 50 && job.status !== 'done'; i++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          job = await getJson(port, 'acme.localhost', String(queued.url));
        }
        assert.equal(job.status, 'done', JSON.stringify(job));
      } finally {
        await base.destroy();
        await stop(child);
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

forEachDialect('examples: DATABASE_URL=… npm start', (tdb) => {
  it('creates and seeds the database on first start, keeps its data on the next, keeps tenants apart', async function () {
    this.timeout(90_000);
    const url = databaseUrl(tdb.config());
    const first = await startScript('start', url);
    let port = Number(/Listening on http:\/\/localhost:(\d+)/.exec(first.output)?.[1]);
    try {
      assert.match(first.output, /created and seeded just now/);
      const names = async (host: string) =>
        ((await getJson(port, host, '/api/projects')) as unknown as Array<{ name: string }>).map((p) => p.name);
      assert.deepEqual(await names('acme.localhost'), ['Website relaunch', 'Onboarding']);
      assert.deepEqual(await names('globex.localhost'), ['Secret roadmap']);
      assert.equal((await getJson(port, 'localhost', '/api/projects')).error, 'TENANT_KEY_MISSING');
    } finally {
      await stop(first.child);
    }
    const second = await startScript('start', url);
    try {
      assert.doesNotMatch(second.output, /created and seeded/);
      port = Number(/Listening on http:\/\/localhost:(\d+)/.exec(second.output)?.[1]);
      const projects = (await getJson(port, 'globex.localhost', '/api/projects')) as unknown as unknown[];
      assert.equal(projects.length, 1);
    } finally {
      await stop(second.child);
    }
  });
});
