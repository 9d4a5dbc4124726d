# Sourced by scripts/test-knex.sh and scripts/test-frameworks.sh after they set build, preload,
# dialects, specs and mocha_options: builds unless --no-build, runs mocha on the subset with the
# resolution preload, prints the timings and exits with mocha's status.
#   run_preloaded_mocha <label> <what it runs on> <NAME=value for the preload> <summary>
# shellcheck source=scripts/timing.sh
source "$root/scripts/timing.sh"

run_preloaded_mocha() {
  local label=$1 on=$2 assignment=$3 summary=$4
  local t_build=skipped t t_mocha status=0
  if ((build)); then
    t=$(now)
    npm run --silent build
    t_build=$(took "$t")
  fi
  echo "$label: mocha on $on ($dialects), specs ${specs[*]}"
  t=$(now)
  env "$assignment" \
    KNEX_SCOPES_DIALECTS="$dialects" \
    KNEX_SCOPES_REQUIRE_DIALECTS="$dialects" \
    NODE_OPTIONS="$preload ${NODE_OPTIONS:-}" \
    node node_modules/mocha/bin/mocha.js --config scripts/mocharc-subset.cjs "${specs[@]}" "${mocha_options[@]}" || status=$?
  t_mocha=$(took "$t")
  echo "$label: $summary: build $t_build, mocha $t_mocha, exit $status"
  exit "$status"
}
