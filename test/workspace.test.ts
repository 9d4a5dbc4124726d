import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const root = join(__dirname, '..');
const packages = ['core', 'express', 'koa', 'fastify', 'bullmq', 'testing'];

describe('workspace', () => {
  for (const name of packages) {
    it(`@knex-scopes/${name} resolves by name to its built dist/ with types`, () => {
      const entry = require.resolve(`@knex-scopes/${name}`);
      assert.equal(relative(root, entry), join('packages', name, 'dist', 'index.js'));
      assert.ok(existsSync(join(dirname(entry), 'index.d.ts')));
      const manifest = JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8'));
      assert.equal(manifest.exports['.'].types, './dist/index.d.ts');
      assert.ok(manifest.engines.node, 'engines.node is stated');
      assert.ok(manifest.files.includes('dist'));
    });
  }

  it('an adapter package resolves core as its sibling, the same module instance', () => {
    const fromExpress = require.resolve('@knex-scopes/core', { paths: [join(root, 'packages', 'express')] });
    assert.equal(fromExpress, require.resolve('@knex-scopes/core'));
  });

  it('core peer-depends on knex and the adapters on their framework', () => {
    const peer = (name: string) =>
      JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8')).peerDependencies;
    assert.ok(peer('core').knex);
    assert.ok(peer('express').express);
    assert.ok(peer('koa').koa);
    assert.ok(peer('fastify').fastify);
  });
});
