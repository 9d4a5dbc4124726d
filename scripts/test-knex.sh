#!/usr/bin/env bash
# Runs the core suite and the bounded fuzzer against another supported Knex release, beside the
# default release's runs in the same tree (README "Supported Knex versions", issue 24):
#
#   npm run test:knex -- 2.5                       # core + fuzz suites on knex 2.5.1, SQLite and PostgreSQL
#   npm run test:knex -- 3.2 --no-build            # the same after `npm test` built the packages (CI)
#   npm run test:knex -- 3.0 packages/core/test/knex/classify.test.ts -- --grep mysql2
#   npm run test:knex -- 3.1 --dialects sqlite     # without PostgreSQL
#
# Arguments after the release (2.5, 3.0, 3.1 or 3.2: an npm alias `knex-<release>` of the root
# package.json; 3.3 is plain `knex`): --no-build, --dialects <list> (default sqlite,pg, each
# required: a missing one fails the run), spec files or globs (default: the core and fuzz
# suites), then after a second `--` options for mocha. The packages are built once with the
# default Knex (tsc's output does not depend on the release); mocha runs with
# test/support/knex-release.cjs preloaded, which sends every `knex` and `knex/…` load, the
# packages' own included, to the alias.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

usage="usage: npm run test:knex -- <2.5|3.0|3.1|3.2|3.3> [--no-build] [--dialects sqlite,pg] [spec...] [-- mocha options]"
release="${1:?$usage}"
shift
specs=()
mocha_options=()
build=1
dialects=sqlite,pg
while (($#)); do
  case "$1" in
    --no-build) build=0 ;;
    --dialects) dialects="${2:?$usage}"; shift ;;
    --) shift; mocha_options=("$@"); break ;;
    -*) echo "test-knex: unknown option $1 ($usage)" >&2; exit 2 ;;
    *) specs+=("$1") ;;
  esac
  shift
done
((${#specs[@]})) || specs=('packages/core/test/**/*.test.ts' 'test/fuzz/*.test.ts')

# 3.3 is the default install: run it without the hook, as `npm test` does.
preload=
if [ "$release" != 3.3 ]; then
  if [ ! -f "node_modules/knex-$release/package.json" ]; then
    echo "test-knex: knex $release is not installed as node_modules/knex-$release ($usage)" >&2
    exit 2
  fi
  preload="--require=$root/test/support/knex-release.cjs"
fi
version="$(KNEX_SCOPES_KNEX="${preload:+$release}" node ${preload:+"$preload"} -p "require('knex/package.json').version")"

# shellcheck source=scripts/preloaded-mocha.sh
source "$root/scripts/preloaded-mocha.sh"
run_preloaded_mocha test-knex "knex $version" "KNEX_SCOPES_KNEX=${preload:+$release}" "knex $version"
