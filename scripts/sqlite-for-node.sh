#!/usr/bin/env bash
# Builds better-sqlite3's native addon for another Node release and prints the addon's path:
#
#   scripts/sqlite-for-node.sh 24    # -> .cache/node/24/better-sqlite3/build/Release/better_sqlite3.node
#
# The build happens in a private copy of the package (.cache/node/<key>/better-sqlite3), never in
# node_modules/better-sqlite3: other engineers run the suite on the host Node in this same working
# tree, and an addon built for another ABI there would break their runs, even for a moment.
# It compiles from the sources npm installed, against the headers the registry's node package
# ships (--nodedir); nothing is downloaded. We call node-gyp directly rather than `npm rebuild`,
# because the package's install script would first ask prebuild-install to fetch a binary.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
release="${1:?usage: sqlite-for-node.sh <major|x.y.z>}"

node_bin="$("$root/scripts/node-version.sh" "$release")"
node_dir="$(dirname "$(dirname "$node_bin")")"
dir="$(dirname "$node_dir")" # .cache/node/<major or x.y.z>, beside that release
node_version="$("$node_bin" --version)"
source_pkg="$root/node_modules/better-sqlite3"
sqlite_version="$(node -p "require('$source_pkg/package.json').version")"
copy="$dir/better-sqlite3"
addon="$copy/build/Release/better_sqlite3.node"

# Node 24.19.0 added cleanup hooks to node::ObjectWrap in its *header* (node_object_wrap.h): an
# addon compiled against it, as better-sqlite3 12 is (v13 is Node-API but crashes on Node 20),
# aborts with "Assertion failed: (env) != nullptr" whenever V8 collects a Statement outside a JS
# call (nodejs/node#65446). The abort follows the headers, not the runtime, so for such a release
# we compile against the last headers of the same line without the hook; the ABI is the same, and
# the addon still runs on (and is tested with) the newest binary.
headers_dir="$node_dir"
if grep -q 'RemoveEnvironmentCleanupHook' "$node_dir/include/node/node_object_wrap.h"; then
  case "$node_version" in
    v24.*) headers_dir="$(dirname "$(dirname "$("$root/scripts/node-version.sh" 24.18.1)")")" ;;
    *) echo "sqlite-for-node: $node_version has ObjectWrap cleanup hooks; name headers without them" >&2; exit 1 ;;
  esac
fi
headers_version="$(sed -n 's/^#define NODE_\(MAJOR\|MINOR\|PATCH\)_VERSION \([0-9]*\)$/\2/p' \
  "$headers_dir/include/node/node_version.h" | paste -sd.)"
stamp="$copy/.built-for"
want_stamp="node $node_version headers $headers_version better-sqlite3 $sqlite_version"

# npm's own node-gyp, the one `npm rebuild` would run; the root's copy if npm is laid out otherwise.
node_gyp="$(dirname "$(realpath "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
[[ -f "$node_gyp" ]] || node_gyp="$root/node_modules/node-gyp/bin/node-gyp.js"

# Loads the addon the way the tests will (better-sqlite3's JS from node_modules, our binary).
works() {
  [[ -f "$addon" && -f "$stamp" && "$(cat "$stamp")" == "$want_stamp" ]] &&
    "$node_bin" -e "
      const Database = require('$source_pkg');
      const db = new Database(':memory:', { nativeBinding: '$addon' });
      if (db.prepare('select 1 + 1 as two').get().two !== 2) process.exit(1);
    " 2>/dev/null
}

exec 9>"$dir/.sqlite.lock"
flock 9
if ! works; then
  echo "sqlite-for-node: building better-sqlite3 $sqlite_version for Node $node_version (headers $headers_version)" >&2
  tmp="$(mktemp -d "$dir/.build.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  tar -C "$source_pkg" --exclude=./build -cf - . | tar -C "$tmp" -xf -
  # The target node first on PATH, so node-gyp and everything it spawns run as that release.
  # Under `npm run`, npm's config reaches node-gyp as npm_config_* variables, which override its
  # command line: a user's `nodedir=/usr` in .npmrc would build for the host. Drop them all.
  (
    cd "$tmp"
    for name in $(compgen -e); do
      if [[ "${name,,}" =~ ^npm_(config|package_config_node_gyp)_ ]]; then unset "$name"; fi
    done
    PATH="$node_dir/bin:$PATH" "$node_bin" "$node_gyp" rebuild --release \
      --nodedir="$headers_dir" --jobs="$(nproc)" >"$dir/sqlite-build.log" 2>&1
  ) || {
    echo "sqlite-for-node: build failed, see $dir/sqlite-build.log" >&2
    exit 1
  }
  rm -rf "$tmp/build/Release/obj" "$tmp/build/Release/obj.target" "$tmp/build/Release/.deps"
  echo "$want_stamp" >"$tmp/.built-for"
  rm -rf "$copy"
  mv "$tmp" "$copy"
  works || { echo "sqlite-for-node: the addon built for $node_version does not load" >&2; exit 1; }
fi
echo "$addon"
