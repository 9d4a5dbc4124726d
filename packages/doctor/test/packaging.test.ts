// What `npm publish` would ship for the doctor: the build with its bin, README, LICENSE, manifest.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(__dirname, '..');

describe('doctor: packaging', () => {
  it('ships dist/ (cli.js with its shebang), README.md, LICENSE and package.json only', function () {
    this.timeout(60_000);
    const json = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const [pack] = JSON.parse(json) as Array<{ name: string; files: Array<{ path: string }> }>;
    assert.equal(pack?.name, '@knex-scopes/doctor');
    const files = pack.files.map((f) => f.path);
    assert.deepEqual(
      files.filter((f) => !/^(dist\/.+|README\.md|LICENSE|package\.json)$/.test(f) || /\.tsbuildinfo$/.test(f)),
      [],
    );
    for (const required of ['README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts', 'dist/cli.js']) {
      assert.ok(files.includes(required), `${required} is in the tarball`);
    }
    assert.match(readFileSync(join(dir, 'dist', 'cli.js'), 'utf8'), /^#!\/usr\/bin\/env node\n/);
  });

  it('names its bin knex-scopes, peer-depends on knex and core, and keeps the engines of the suite', () => {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    assert.deepEqual(manifest.bin, { 'knex-scopes': './dist/cli.js' });
    assert.ok(manifest.peerDependencies.knex);
    assert.ok(manifest.peerDependencies['@knex-scopes/core']);
    const core = JSON.parse(readFileSync(join(dir, '..', 'core', 'package.json'), 'utf8'));
    assert.equal(manifest.engines.node, core.engines.node);
  });
});
