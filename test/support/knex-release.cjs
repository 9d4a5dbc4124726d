// Preloaded (NODE_OPTIONS=--require) by scripts/test-knex.sh only, for a run of the suites
// against another Knex release: every load of `knex` or `knex/…` is sent to the npm alias
// installed beside it (`knex-2.5` → knex 2.5.1, see the root package.json), so one tree
// holds every release and nothing is reinstalled.
//
// Why a resolution hook and not NODE_PATH or a symlink: node_modules/knex is shared with the
// engineers running the suite on the default release at the same moment, and node_modules
// wins over NODE_PATH. Tests are TypeScript compiled to CommonJS by tsx, and the packages' dist
// is CommonJS (`require('knex/package.json')` in the version guard), so Module._resolveFilename
// sees every load; an ESM `import 'knex'` (none today) is redirected too, by a resolve hook.
'use strict';
const Module = require('node:module');

const release = process.env.KNEX_SCOPES_KNEX;
if (release) {
  if (!/^\d+\.\d+$/.test(release)) throw new Error(`KNEX_SCOPES_KNEX=${release}: expected a release such as 2.5`);
  const alias = `knex-${release}`;
  const redirect = (request) =>
    request === 'knex' ? alias : request.startsWith('knex/') ? alias + request.slice('knex'.length) : request;

  const resolveFilename = Module._resolveFilename;
  Module._resolveFilename = function resolveKnexRelease(request, ...rest) {
    return resolveFilename.call(this, typeof request === 'string' ? redirect(request) : request, ...rest);
  };

  if (typeof Module.register === 'function') {
    const hook = `export async function resolve(specifier, context, next) {
      const alias = ${JSON.stringify(alias)};
      if (specifier === 'knex') return next(alias, context);
      if (specifier.startsWith('knex/')) return next(alias + specifier.slice(4), context);
      return next(specifier, context);
    }`;
    Module.register(`data:text/javascript,${encodeURIComponent(hook)}`);
  }

  // Fail at once, not with a confusing test failure, when the alias is not installed.
  const version = require('knex/package.json').version;
  if (version !== release && !version.startsWith(`${release}.`)) {
    throw new Error(`KNEX_SCOPES_KNEX=${release}: \`knex\` resolves to knex ${version}`);
  }
}
