#!/usr/bin/env bash
# Runs bench/als-cost.ts under every Node release we support (the registry's node packages, as
# scripts/test-node.sh does) and prints nanoseconds per operation side by side, then the HTTP
# benchmark of the adapters (bench/http/run.ts) on the Node running this script: the full
# harness, 9 rounds, with the A/A twin that prints what this machine can resolve (about half an
# hour for the three frameworks; issue #5's target is 3 %, and the quick run moves by more).
#
#   npm run bench                      # 20, 22 and 24, then HTTP on this Node
#   npm run bench -- 24 22             # the releases named
#   BENCH_ROUND_MS=1000 npm run bench  # longer rounds, steadier figures
#   npm run bench -- --http 24 22      # the HTTP benchmark under each release named, too
#   npm run bench -- --quick           # the HTTP benchmark's quick run (5 short rounds, no twin): a smoke test
#   npm run bench -- --rounds 15       # more HTTP rounds, a steadier median
#   npm run bench -- --no-http         # the AsyncLocalStorage table only
#   npm run bench -- --no-instructions # without the instruction counts (bench/http/instructions.ts),
#                                      # which run after the HTTP benchmark when valgrind is installed
#   npm run bench -- --no-rls          # without the RLS bridge's cost (bench/rls.ts: bridge/no-bridge per
#                                      # statement on a throwaway PostgreSQL, autocommit and per-request transaction)
#   npm run bench -- --no-sql          # without issue 26's SQL at scale (bench/sql.ts: scoped vs hand-written at
#                                      # 1 M rows) and writes (bench/writes.ts: plain, scoped, hand-checked, over TCP)
#
# Micro-benchmark figures move with machine load: compare columns of one run, not runs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

http=0
host_http=1
instructions=1
rls=1
sql=1
releases=()
quick=0
rounds=
while (($#)); do
  case "$1" in
    --http) http=1; host_http=0 ;;
    --no-http) host_http=0; instructions=0 ;;
    --no-instructions) instructions=0 ;;
    --no-rls) rls=0 ;;
    --no-sql) sql=0 ;;
    --quick) quick=1 ;;
    --rounds) rounds="${2:?--rounds takes a number}"; shift ;;
    *) releases+=("$1") ;;
  esac
  shift
done
if ((quick)); then http_args=(--quick ${rounds:+--rounds "$rounds"}); else http_args=(--aa --rounds "${rounds:-9}"); fi
((${#releases[@]})) || releases=(20 22 24)

npm run --silent build
results=()
for release in "${releases[@]}"; do
  node_bin="$(scripts/node-version.sh "$release")"
  echo "bench: Node $("$node_bin" --version)" >&2
  results+=("$("$node_bin" --import tsx bench/als-cost.ts --json)")
  if ((http)); then
    # The HTTP apps use SQLite: the addon built for this release, loaded as in test-node.sh.
    addon="$(scripts/sqlite-for-node.sh "$release")"
    PATH="$(dirname "$node_bin"):$PATH" KNEX_SCOPES_SQLITE_BINDING="$addon" \
      NODE_OPTIONS="--require=$root/scripts/node-version-preload.cjs ${NODE_OPTIONS:-}" \
      "$node_bin" --import tsx bench/http/run.ts "${http_args[@]}" >&2
  fi
done

printf '%s\n' "${results[@]}" | node -e '
  const runs = require("fs").readFileSync(0, "utf8").trim().split("\n").map((line) => JSON.parse(line));
  const names = runs[0].rows.map((row) => row.name);
  const cell = (text) => String(text).padStart(12);
  console.log("\nns per operation (lower is better), median of the rounds");
  console.log("".padEnd(28) + runs.map((run) => cell(run.node)).join(""));
  for (const name of names) {
    const values = runs.map((run) => run.rows.find((row) => row.name === name).nsPerOp.toFixed(0));
    console.log(name.padEnd(28) + values.map(cell).join(""));
  }
'

# The RLS bridge (issue 23): its round trips, per statement, on PostgreSQL (skipped without one).
if ((rls)); then
  echo
  npx tsx bench/rls.ts $( ((quick)) && echo --quick ) || echo "bench:rls skipped: no PostgreSQL (PG_URL, or the server binaries for a throwaway cluster)"
fi

# SQL at scale and path writes (issue 26): scoped vs hand-written, server-side and over TCP.
if ((sql)); then
  echo
  npx tsx bench/sql.ts $( ((quick)) && echo --runs 5 ) || echo "bench:sql skipped: no PostgreSQL/MariaDB (PG_URL, MYSQL_URL, or the server binaries)"
  echo
  npx tsx bench/writes.ts --dialect sqlite,pg,mysql $( ((quick)) && echo --quick ) || echo "bench:writes skipped: no database server"
fi

if ((host_http)); then
  echo >&2
  npx tsx bench/http/run.ts "${http_args[@]}"
fi

# The same variants counted in instructions (callgrind): a ratio the machine's noise cannot move.
if ((instructions)); then
  echo
  if command -v valgrind >/dev/null && command -v callgrind_control >/dev/null; then
    npx tsx bench/http/instructions.ts
  else
    echo "instruction counts skipped: valgrind is not installed (Debian: apt-get install valgrind)"
  fi
fi
