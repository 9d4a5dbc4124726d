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
stamp="$copy/.built-for"
want_stamp="node $node_version better-sqlite3 $sqlite_version"

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
  echo "sqlite-for-node: building better-sqlite3 $sqlite_version for Node $node_version" >&2
  tmp="$(mktemp -d "$dir/.build.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  tar -C "$source_pkg" --exclude=./build -cf - . | tar -C "$tmp" -xf -
  # The target node first on PATH, so node-gyp and everything it spawns run as that release.
  (cd "$tmp" && PATH="$node_dir/bin:$PATH" "$node_bin" "$node_gyp" rebuild --release \
    --nodedir="$node_dir" --jobs="$(nproc)" >"$dir/sqlite-build.log" 2>&1) || {
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
