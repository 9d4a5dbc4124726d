// The parts that need no database: type families, config exports, the human report.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineScopes } from '@knex-scopes/core';
import type { DoctorReport } from '@knex-scopes/doctor';
// The internals, from the sources: one DoctorError class for all of them.
import { sameFamily, typeFamily } from '../src/column-types';
import { configFromExport } from '../src/config';
import { DoctorError } from '../src/doctor-error';
import { loadConfig } from '../src/load-config';
import { formatHuman } from '../src/report-human';

const scopes = defineScopes({ tables: { pages: { tenant: 'tenant_id' } } });
const knexConfig = { client: 'pg' };

describe('doctor: column type families', () => {
  it('folds sizes, signedness and synonyms', () => {
    for (const type of [
      'integer',
      'int(10) unsigned',
      'bigint',
      'int4',
      'INTEGER',
      'smallint',
      'serial',
      'int unsigned',
    ]) {
      assert.equal(typeFamily(type), 'integer', type);
    }
    for (const type of ['character varying(255)', 'varchar(36)', 'text', 'char(36)', 'longtext', 'character(2)']) {
      assert.equal(typeFamily(type), 'text', type);
    }
    assert.equal(typeFamily('uuid'), 'uuid');
    assert.equal(typeFamily('numeric(10,2)'), 'decimal');
    assert.equal(typeFamily('double precision'), 'float');
    assert.equal(typeFamily('timestamp with time zone'), 'temporal');
  });

  it('tells an integer key from a text one; an untyped SQLite column matches anything', () => {
    assert.equal(sameFamily('integer', 'bigint'), true);
    assert.equal(sameFamily('varchar(255)', 'integer'), false);
    assert.equal(sameFamily('uuid', 'text'), false);
    assert.equal(sameFamily('', 'integer'), true);
  });
});

describe('doctor: config exports', () => {
  it('takes an object, a module namespace, a CommonJS-compiled default and a function', async () => {
    const config = { scopes, knex: knexConfig };
    assert.equal(await configFromExport(config, 'c'), config);
    assert.equal(await configFromExport({ default: config }, 'c'), config);
    assert.equal(await configFromExport({ default: { __esModule: true, default: config } }, 'c'), config);
    assert.equal(await configFromExport({ default: async () => config }, 'c'), config);
  });

  it('refuses what is not { scopes, knex } with DoctorError CONFIG', async () => {
    const refused = async (value: unknown, pattern: RegExp) => {
      const error = await configFromExport(value, 'c.js').then(
        () => assert.fail('accepted'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof DoctorError);
      assert.equal(error.code, 'CONFIG');
      assert.match(error.message, pattern);
    };
    await refused(undefined, /default export must be \{ scopes, knex \}/);
    await refused({ scopes: { tables: {} }, knex: knexConfig }, /`scopes` must be the result of defineScopes/);
    await refused({ scopes, knex: 'pg' }, /`knex` must be a Knex instance or a Knex config/);
    await refused({ scopes, knex: knexConfig, global: 'audit' }, /`global` must be an array/);
    await refused({ scopes, knex: knexConfig, schema: 1 }, /`schema` must be a string/);
  });

  it('loads a file relative to the directory it is given, and says when there is none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'knex-scopes-doctor-'));
    try {
      writeFileSync(join(dir, 'broken.mjs'), 'export default {;\n');
      await assert.rejects(
        loadConfig('broken.mjs', dir),
        (e: unknown) => e instanceof DoctorError && e.code === 'CONFIG',
      );
      await assert.rejects(loadConfig('absent.mjs', dir), /no config file at/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('doctor: the human report', () => {
  const base: DoctorReport = {
    dialect: 'pg',
    schema: 'public',
    declaredTables: 2,
    databaseTables: 3,
    rlsChecked: false,
    findings: [],
    errors: 0,
    warnings: 0,
  };

  it('says so when there is nothing to report', () => {
    assert.equal(
      formatHuman(base),
      'knex-scopes doctor: PostgreSQL, schema "public"; 2 tables declared, 3 in the database\n\n' +
        'No findings: the declaration and the database agree.\n',
    );
  });

  it('prints what, why and the fix of each finding, the fix lines aligned', () => {
    const text = formatHuman({
      ...base,
      errors: 1,
      findings: [
        {
          code: 'UNDECLARED_TABLE',
          level: 'error',
          table: 'audit',
          column: null,
          message: 'what',
          why: 'why',
          fix: "Declare it:\n  audit: { tenant: 'tenant_id' },\nor list it.",
        },
      ],
    });
    assert.equal(
      text.split('\n').slice(2).join('\n'),
      [
        'error UNDECLARED_TABLE audit',
        '  what',
        '  why: why',
        '  fix: Declare it:',
        "         audit: { tenant: 'tenant_id' },",
        '       or list it.',
        '',
        '1 error, 0 warnings.',
        '',
      ].join('\n'),
    );
  });
});
