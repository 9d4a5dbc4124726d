#!/usr/bin/env bash
# Installs a Node.js release from the npm registry (the `node-<os>-<arch>` packages hold the
# official binary in bin/node and the headers in include/node) into .cache/node/<key>/node,
# checks that the binary runs, and prints the path of that binary.
#
#   scripts/node-version.sh 24            # the pinned 24.x below
#   scripts/node-version.sh 24.0.0        # an exact release (.cache/node/24.0.0)
#   scripts/node-version.sh --newest 24   # prints the newest 24.x on the registry (to bump a pin)
#
# Only the registry is used: no nodejs.org download, so it works where only npm is reachable.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

# The releases CI tests. Bump them with `--newest`; README's support table names the lines.
pinned_version() {
  case "$1" in
    20) echo 20.20.2 ;;
    22) echo 22.23.3 ;;
    24) echo 24.21.0 ;;
    *) echo "node-version: no pinned release for Node $1; pass an exact x.y.z" >&2; return 1 ;;
  esac
}

platform_package() {
  local os arch
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) echo "node-version: unsupported OS $(uname -s)" >&2; return 1 ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "node-version: unsupported CPU $(uname -m)" >&2; return 1 ;;
  esac
  echo "node-$os-$arch"
}

if [[ "${1:-}" == "--newest" ]]; then
  major="${2:?usage: node-version.sh --newest <major>}"
  npm view "$(platform_package)@$major" version --json |
    node -e 'const v = [].concat(JSON.parse(require("fs").readFileSync(0, "utf8")));
      const key = (s) => s.split(".").map(Number);
      v.sort((a, b) => { const [x, y] = [key(a), key(b)]; return x[1] - y[1] || x[2] - y[2]; });
      console.log(v.at(-1));'
  exit 0
fi

want="${1:?usage: node-version.sh <major|x.y.z>}"
if [[ "$want" =~ ^[0-9]+$ ]]; then
  version="$(pinned_version "$want")"
elif [[ "$want" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  version="$want"
else
  echo "node-version: expected a major (24) or a release (24.21.0), got '$want'" >&2
  exit 2
fi
# A major names the pinned release and lives in .cache/node/<major>; an exact release asked for
# by hand (e.g. the floor of an engines range) gets its own .cache/node/<x.y.z>, so checking it
# does not replace the pinned one.
dir="$root/.cache/node/$want"
bin="$dir/node/bin/node"

installed() { [[ -x "$bin" && "$("$bin" --version 2>/dev/null)" == "v$version" ]]; }

mkdir -p "$dir"
# Two runs for the same major (two terminals, CI retries) must not unpack over each other.
exec 9>"$dir/.lock"
flock 9
if ! installed; then
  tmp="$(mktemp -d "$dir/.install.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  echo "node-version: installing $(platform_package)@$version from the npm registry" >&2
  # `npm pack` fetches the exact tarball through npm's cache and checks its integrity against
  # the registry; unpacking it ourselves avoids a package.json, a lockfile and install scripts.
  tarball="$(cd "$tmp" && npm pack "$(platform_package)@$version" --silent)"
  mkdir "$tmp/node"
  tar -xzf "$tmp/$tarball" -C "$tmp/node" --strip-components=1
  [[ -f "$tmp/node/include/node/node_version.h" ]] || {
    echo "node-version: the package holds no include/node headers" >&2
    exit 1
  }
  rm -rf "$dir/node"
  mv "$tmp/node" "$dir/node"
fi
installed || { echo "node-version: $bin does not report v$version" >&2; exit 1; }
echo "$bin"
