// The Fastify adapter follows the @fastify/* export convention (issue 24): require() and an ES
// module's default import both give the plugin itself, with .default and .knexScopes on it, and
// each registers. Run in child processes, as a CommonJS and an ES module app would load it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

const root = resolve(__dirname, '../..');
const register = `
  const app = Fastify();
  const resolveTenant = tenantResolver({ from: fromHeader('x-tenant'), lookup: () => ({ id: 1 }) });
  await app.register(plugin, { resolveTenant });
  await app.ready();
  console.log(JSON.stringify({
    plugin: typeof plugin, def: plugin.default === plugin, named: plugin.knexScopes === plugin,
    registered: app.hasRequestDecorator('tenant'),
  }));
  await app.close();`;

function run(args: string[], source: string): unknown {
  const out = execFileSync(process.execPath, [...args, '-e', source], { cwd: root, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop() as string);
}

describe('module formats: @knex-scopes/fastify', () => {
  const expected = { plugin: 'function', def: true, named: true, registered: true };

  it('require() gives the plugin itself', () => {
    const source = `(async () => {
      const plugin = require('@knex-scopes/fastify');
      const Fastify = require('fastify');
      const { tenantResolver, fromHeader } = require('@knex-scopes/core/http');
      ${register}
    })();`;
    assert.deepEqual(run([], source), expected);
  });

  it("an ES module's default import gives the plugin itself, and the named import too", () => {
    const source = `
      import plugin, { knexScopes } from '@knex-scopes/fastify';
      import Fastify from 'fastify';
      import { tenantResolver, fromHeader } from '@knex-scopes/core/http';
      if (knexScopes !== plugin) throw new Error('named import differs');
      ${register}`;
    assert.deepEqual(run(['--input-type=module'], source), expected);
  });
});
