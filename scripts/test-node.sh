#!/usr/bin/env bash
# Runs the suite under another Node release, beside the host Node's runs in the same tree:
#
#   npm run test:node -- 24                        # the whole suite on Node 24
#   npm run test:node -- 22 --core-adapters        # core and adapter suites only (CI on 22)
#   npm run test:node -- 24 packages/core/test/node-versions.test.ts -- --grep enterWith
#   npm run test:node -- 24.0.0 --no-sqlite packages/core/test/node-versions.test.ts   # a floor
#
# Arguments after the release: --core-adapters, --no-build, --no-sqlite (skip building the
# addon: for specs that never open SQLite; loading it would then fail loudly on the ABI), spec
# files or globs, then after a second `--` options for mocha. The packages are built (and the type tests run) once with the
# host Node, as tsc's output does not depend on the release; mocha runs on the target release
# with better-sqlite3's addon built for it (see node-version-preload.cjs for how it is loaded).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

usage="usage: npm run test:node -- <major|x.y.z> [--core-adapters] [--no-build] [--no-sqlite] [spec...] [-- mocha options]"
want="${1:?$usage}"
shift
specs=()
mocha_options=()
build=1
sqlite=1
while (($#)); do
  case "$1" in
    --core-adapters) specs+=('packages/*/test/**/*.test.ts') ;;
    --no-build) build=0 ;;
    --no-sqlite) sqlite=0 ;;
    --) shift; mocha_options=("$@"); break ;;
    -*) echo "test-node: unknown option $1 ($usage)" >&2; exit 2 ;;
    *) specs+=("$1") ;;
  esac
  shift
done

# shellcheck source=scripts/timing.sh
source "$root/scripts/timing.sh"

t=$(now)
node_bin="$(scripts/node-version.sh "$want")"
t_install=$(took "$t")
node_version="$("$node_bin" --version)"
major="${node_version#v}"
major="${major%%.*}"

addon=
t_sqlite=skipped
if ((sqlite)); then
  t=$(now)
  addon="$(scripts/sqlite-for-node.sh "$want")"
  t_sqlite=$(took "$t")
fi

t_build=skipped
if ((build)); then
  t=$(now)
  npm run --silent build
  npm run --silent test:types
  t_build=$(took "$t")
fi

config=()
((${#specs[@]})) && config=(--config scripts/mocharc-subset.cjs)

echo "test-node: mocha on Node $node_version (host $(node --version)), better-sqlite3 addon ${addon:-none}"
t=$(now)
status=0
PATH="$(dirname "$node_bin"):$PATH" \
  KNEX_SCOPES_SQLITE_BINDING="$addon" \
  KNEX_SCOPES_EXPECT_NODE="$major" \
  NODE_OPTIONS="--require=$root/scripts/node-version-preload.cjs ${NODE_OPTIONS:-}" \
  "$node_bin" node_modules/mocha/bin/mocha.js "${config[@]}" "${specs[@]}" "${mocha_options[@]}" || status=$?
t_mocha=$(took "$t")

echo "test-node: Node $node_version: install $t_install, sqlite addon $t_sqlite, build+types $t_build, mocha $t_mocha, exit $status"
exit "$status"
