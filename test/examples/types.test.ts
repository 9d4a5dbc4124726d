// The examples run through tsx, which does not type-check: the compiler checks them here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

describe('examples: types', () => {
  it('compile under the strict settings of the packages', function () {
    this.timeout(60_000);
    const root = join(__dirname, '..', '..');
    const tsc = require.resolve('typescript/bin/tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'examples')], { cwd: root, encoding: 'utf8' });
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
  });
});
