#!/usr/bin/env bash
# Set-up and entry points for a fresh Debian/Ubuntu machine with Python 3.11+.
#   ./dev.sh demo    install what is missing, then run the demo
#   ./dev.sh test    install what is missing, then run lint, type checks, layer checks and tests
#                    (with pytest arguments: lint and checks, then only that pytest run)
#   ./dev.sh demos   every demo scenario on the istio router, and good/error-regression on the
#                    others (about 10 minutes; CI runs good and error-regression on istio)
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

apt_install() {
  # Debian packages, installed only when missing (the project's tests need a real Prometheus).
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "apt-get not found: install these yourself: $*" >&2
    return 1
  fi
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

bootstrap() {
  if ! command -v prometheus >/dev/null 2>&1; then
    echo "installing the prometheus Debian package" >&2
    apt_install prometheus
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    if ! python3 -m venv "$VENV" 2>/dev/null; then
      rm -rf "$VENV"
      apt_install python3-venv
      python3 -m venv "$VENV"
    fi
  fi
  # Re-install when pyproject.toml changed since the last install.
  stamp="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e '.[dev]'
    rm -f "$VENV"/.installed-*
    touch "$stamp"
  fi
  export PATH="$PWD/$VENV/bin:$PATH"
}

# The areas that spend most of their time waiting on rollouts run beside the others, in a pytest
# process of their own one after the other, so the whole suite stays within CI's budget on two
# cores.
SIDE_LANES=(tests/e2e tests/demo)

run_tests() {
  ruff check .
  ruff format --check .
  mypy
  lint-imports
  if [ $# -gt 0 ]; then
    python -m pytest "$@"
    return
  fi
  local logs lane status=0 side ignores=()
  logs=$(mktemp -d)
  for lane in "${SIDE_LANES[@]}"; do
    ignores+=("--ignore=$lane")
  done
  # One side lane runs its areas one after the other: two cores cannot take three clusters.
  # Each area runs whatever the one before it did (set -e would end the lane at a failure).
  (
    for lane in "${SIDE_LANES[@]}"; do
      lane_status=0
      python -m pytest "$lane" >"$logs/$(basename "$lane").log" 2>&1 || lane_status=$?
      echo "$lane_status" >"$logs/$(basename "$lane").rc"
    done
  ) &
  side=$!
  python -m pytest "${ignores[@]}" || status=1
  wait "$side" || true
  for lane in "${SIDE_LANES[@]}"; do
    if [ "$(cat "$logs/$(basename "$lane").rc" 2>/dev/null)" = "0" ]; then
      echo "== $lane: passed"
      tail -n 1 "$logs/$(basename "$lane").log"
    else
      status=1
      echo "== $lane: FAILED"
      cat "$logs/$(basename "$lane").log" 2>/dev/null
    fi
  done
  rm -rf "$logs"
  return $status
}

run_demo() {
  kcanary demo "$@"
}

run_all_demos() {
  # Each demo exits non-zero when its rollout does not end as the scenario expects.
  local failed=0 out
  out=$(mktemp -d)
  for scenario in good error-regression latency-regression tail-latency never-ready manual; do
    kcanary demo --scenario "$scenario" --router istio --out "$out/istio-$scenario" </dev/null \
      || failed=1
  done
  for router in gateway-api kserve; do
    for scenario in good error-regression; do
      kcanary demo --scenario "$scenario" --router "$router" --out "$out/$router-$scenario" </dev/null \
        || failed=1
    done
  done
  echo "demo output in $out"
  return $failed
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
  test) bootstrap; run_tests "$@" ;;
  demo) bootstrap; run_demo "$@" ;;
  demos) bootstrap; run_all_demos ;;
  *) echo "usage: ./dev.sh demo [ARGS...] | ./dev.sh test [PYTEST ARGS...] | ./dev.sh demos" >&2; exit 2 ;;
esac
