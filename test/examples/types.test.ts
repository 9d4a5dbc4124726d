// The examples and their tests (and the docs and packaging tests) run through tsx, which does not
// type-check: the compiler checks them here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

describe('examples: types', () => {
  for (const [project, what] of [
    ['examples', 'the example apps'],
    ['test/examples', 'their tests, the docs test and the packaging test'],
  ]) {
    it(`${what} compile under the strict settings of the packages`, function () {
      this.timeout(60_000);
      const tsc = require.resolve('typescript/bin/tsc');
      const result = spawnSync(process.execPath, [tsc, '-p', join(root, project as string)], {
        cwd: root,
        encoding: 'utf8',
      });
      assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
    });
  }
});
