# Sourced by the scripts/test-*.sh runners: how long each step took, printed as "12.3s".
now() { date +%s%N; }
took() {
  local ms=$((($(now) - $1) / 1000000))
  printf '%d.%ds' $((ms / 1000)) $((ms % 1000 / 100))
}
