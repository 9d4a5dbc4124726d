// What `npm publish` would ship: per package, only the build, the README, the LICENSE and the
// manifest (no sources, tests, tsbuildinfo or stray files).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..');
const ALLOWED = /^(dist\/.+|README\.md|LICENSE|package\.json)$/;

describe('packaging: npm pack --dry-run', () => {
  for (const name of ['core', 'express', 'koa', 'fastify', 'bullmq', 'testing']) {
    it(`@knex-scopes/${name} ships dist/, README.md, LICENSE and package.json only`, function () {
      this.timeout(60_000);
      const json = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
        cwd: join(root, 'packages', name),
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const [pack] = JSON.parse(json) as Array<{ name: string; files: Array<{ path: string }> }>;
      assert.equal(pack?.name, `@knex-scopes/${name}`);
      const files = pack.files.map((f) => f.path);
      assert.deepEqual(
        files.filter((f) => !ALLOWED.test(f)),
        [],
      );
      for (const required of ['README.md', 'LICENSE', 'package.json', 'dist/index.js', 'dist/index.d.ts']) {
        assert.ok(files.includes(required), `${required} is in the tarball`);
      }
      assert.deepEqual(
        files.filter((f) => /\.tsbuildinfo$|\.test\.|(^|\/)src\//.test(f)),
        [],
      );
    });
  }
});
