#!/usr/bin/env bash
# Runs the adapter suites against the previous major of Express, Koa and/or Fastify, beside the
# current majors' runs in the same tree (docs/framework-versions.md, issue 24):
#
#   npm run test:frameworks -- all                 # Express 4, Koa 2 and Fastify 4 in one run, SQLite
#   npm run test:frameworks -- all --no-build      # the same after `npm test` built the packages (CI)
#   npm run test:frameworks -- express4            # Express 4 only (Koa 3 and Fastify 5 run beside it)
#   npm run test:frameworks -- fastify4 test/adapters/user-tenant.test.ts -- --grep scopeHook
#   npm run test:frameworks -- koa2 --dialects sqlite,pg
#
# Arguments after the release (express4, koa2, fastify4, a comma list of them, or all): --no-build,
# --dialects <list> (default sqlite, each required: a missing one fails the run), spec files or
# globs (default: the adapter suites, test/adapters/*.test.ts, and the transaction-per-test proof
# of @knex-scopes/testing, which runs on the three frameworks), then after a second `--` options
# for mocha. The previous majors are npm aliases of the root package.json (express-4, koa-2,
# fastify-4 and the @fastify/* plugins of Fastify 4's line); mocha runs with
# test/support/framework-release.cjs preloaded, which sends every load of those packages (the
# adapters' own and child processes' included) to the aliases, and fails at once if a framework
# does not load its previous major. test/adapters/framework-releases.test.ts asserts it again
# from inside the run, for CommonJS and ES-module loads.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

usage="usage: npm run test:frameworks -- <express4|koa2|fastify4|all>[,...] [--no-build] [--dialects sqlite] [spec...] [-- mocha options]"
releases="${1:?$usage}"
shift
[ "$releases" != all ] || releases=express4,koa2,fastify4
specs=()
mocha_options=()
build=1
dialects=sqlite
while (($#)); do
  case "$1" in
    --no-build) build=0 ;;
    --dialects) dialects="${2:?$usage}"; shift ;;
    --) shift; mocha_options=("$@"); break ;;
    -*) echo "test-frameworks: unknown option $1 ($usage)" >&2; exit 2 ;;
    *) specs+=("$1") ;;
  esac
  shift
done
((${#specs[@]})) || specs=('test/adapters/*.test.ts' 'packages/testing/test/transaction-per-test.test.ts')

preload="--require=$root/test/support/framework-release.cjs"
# The preload checks the majors (and names a missing alias); this prints what the run loads.
loaded="$(KNEX_SCOPES_FRAMEWORKS="$releases" node "$preload" -e "
  const names = ['express', 'koa', 'fastify', '@fastify/cookie', '@fastify/session', '@fastify/formbody', '@fastify/jwt'];
  console.log(names.map((name) => name + ' ' + require(name + '/package.json').version).join(', '));")"

# shellcheck source=scripts/preloaded-mocha.sh
source "$root/scripts/preloaded-mocha.sh"
run_preloaded_mocha test-frameworks "$loaded" "KNEX_SCOPES_FRAMEWORKS=$releases" "$releases"
