// Preloaded (NODE_OPTIONS=--require) by scripts/test-frameworks.sh only, for a run of the adapter
// suites against the previous major of a framework: every load of the framework (and of the
// plugins whose majors follow it) is sent to the npm alias installed beside the current major
// (`express-4` → express 4.22, see the root package.json), so one tree holds both majors and
// nothing is reinstalled. The same mechanism as knex-release.cjs (see there for why a
// resolution hook): CommonJS through Module._resolveFilename, ES modules through a resolve hook,
// child processes through NODE_OPTIONS.
//
// KNEX_SCOPES_FRAMEWORKS is a comma list of express4, koa2, fastify4. Plugins that support both
// majors with one release (@koa/router, @koa/bodyparser, koa-session, koa-jwt, koa-body,
// express-session, passport, multer) are not redirected.
'use strict';
const Module = require('node:module');

/** The previous majors: each one's redirects (package → alias) and the major the run must load. */
const RELEASES = {
  express4: { major: 4, packages: { express: 'express-4' } },
  koa2: { major: 2, packages: { koa: 'koa-2' } },
  fastify4: {
    major: 4,
    packages: {
      fastify: 'fastify-4',
      '@fastify/cookie': 'fastify-cookie-9',
      '@fastify/session': 'fastify-session-10',
      '@fastify/formbody': 'fastify-formbody-7',
      '@fastify/jwt': 'fastify-jwt-8',
    },
  },
};

const wanted = (process.env.KNEX_SCOPES_FRAMEWORKS ?? '').split(',').filter(Boolean);
if (wanted.length > 0) {
  const aliases = {};
  for (const name of wanted) {
    const release = RELEASES[name];
    if (!release) {
      throw new Error(`KNEX_SCOPES_FRAMEWORKS=${wanted}: ${name} is not one of ${Object.keys(RELEASES).join(', ')}`);
    }
    Object.assign(aliases, release.packages);
  }

  // `express` and `express/…` go to the alias; `express-session` and `fastify-plugin` do not.
  const redirect = (request) => {
    if (typeof request !== 'string') return request;
    const slash = request.startsWith('@') ? request.indexOf('/', request.indexOf('/') + 1) : request.indexOf('/');
    const name = slash === -1 ? request : request.slice(0, slash);
    const alias = aliases[name];
    return alias === undefined ? request : alias + request.slice(name.length);
  };

  const resolveFilename = Module._resolveFilename;
  Module._resolveFilename = function resolveFrameworkRelease(request, ...rest) {
    return resolveFilename.call(this, redirect(request), ...rest);
  };

  if (typeof Module.register === 'function') {
    const hook = `const aliases = ${JSON.stringify(aliases)};
    export async function resolve(specifier, context, next) {
      const slash = specifier.startsWith('@') ? specifier.indexOf('/', specifier.indexOf('/') + 1) : specifier.indexOf('/');
      const name = slash === -1 ? specifier : specifier.slice(0, slash);
      const alias = Object.hasOwn(aliases, name) ? aliases[name] : undefined;
      return next(alias === undefined ? specifier : alias + specifier.slice(name.length), context);
    }`;
    Module.register(`data:text/javascript,${encodeURIComponent(hook)}`);
  }

  // Fail at once, not with a confusing test failure, when an alias is missing or the redirect
  // does not take: each framework must load its previous major.
  for (const name of wanted) {
    const framework = Object.keys(RELEASES[name].packages)[0];
    const { version } = require(`${framework}/package.json`);
    if (!version.startsWith(`${RELEASES[name].major}.`)) {
      throw new Error(`KNEX_SCOPES_FRAMEWORKS=${wanted}: \`${framework}\` resolves to ${framework} ${version}`);
    }
  }
}
