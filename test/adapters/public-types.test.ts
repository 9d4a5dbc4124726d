// The adapters' public types, checked by the compiler: test/adapters/types/*.ts must compile,
// and each `@ts-expect-error` there (a missing tenant resolver, a mistyped option, a tenant type
// other than the declared one) must be a compile error.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

describe('http adapters: public types', () => {
  it('compile as documented, and refuse a missing tenant resolver', function () {
    this.timeout(60_000);
    const root = join(__dirname, '..', '..');
    const tsc = require.resolve('typescript/bin/tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', join(__dirname, 'types')], { cwd: root, encoding: 'utf8' });
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
  });
});
