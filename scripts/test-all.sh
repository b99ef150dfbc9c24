#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine, then run all of it:
# lint and type checks, frontend unit tests, the Galata UI tests in Chromium, and pytest.
# Safe to re-run: each step skips work that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

export CI="${CI:-true}"   # yarn installs exactly what the committed lockfiles say
export NODE_EXTRA_CA_CERTS="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

step() { printf '\n=== %s (%s)\n' "$1" "$(date +%T)"; }

step "system packages"
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
# tests/pg_service.py runs a throwaway PostgreSQL cluster from these binaries
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

step "python environment"
[ -x .venv/bin/python ] || python3 -m venv .venv
. .venv/bin/activate
# uv installs what pip would, in parallel (minutes faster). It does not read pip's configuration:
# hand it the same indexes, find-links, constraints and CA bundle, and pip's resolution rule
# (best version over all indexes, not uv's first index that has the name).
pip install -q uv
uv_args=(--index-strategy unsafe-best-match)
while IFS='=' read -r key value; do
  value=${value#\'}; value=${value%\'}
  for v in $value; do
    case "${key##*.}" in
      index-url) uv_args+=(--index-url "$v") ;;
      extra-index-url) uv_args+=(--extra-index-url "$v") ;;
      find-links) uv_args+=(--find-links "$v") ;;
      constraint) uv_args+=(--constraint "$v") ;;
      cert) export SSL_CERT_FILE="$v" ;;
    esac
  done
done < <(pip config list 2>/dev/null)
uv pip install -q "${uv_args[@]}" "jupyterlab==4.6.6"
uv pip install -q "${uv_args[@]}" -e ".[dev,test]"

# The UI tests' node packages download (network-bound) while the checks below use the CPU.
ui_log=$(mktemp)
( cd ui-tests && jlpm install ) >"$ui_log" 2>&1 &
ui_install=$!

step "extension registered"
out=$(jupyter labextension list 2>&1); echo "$out" | grep modelvault || true
grep -q "modelvault-jlab.*enabled.*OK" <<<"$out" || { echo "labextension not enabled"; exit 1; }
out=$(jupyter server extension list 2>&1)
grep -q "modelvault_jlab.*enabled" <<<"$out" || { echo "server extension not enabled"; echo "$out"; exit 1; }

lint_and_types() {
  ruff check modelvault_jlab tests bench
  mypy
  lint-imports --no-cache  # layers, forbidden imports and no cycles: [tool.importlinter] in pyproject.toml
  jlpm lint:check
}

step "frontend unit tests"
jlpm test

step "UI tests (Galata, Chromium)"
wait "$ui_install" || { cat "$ui_log"; echo "ui-tests: jlpm install failed"; exit 1; }
( cd ui-tests && jlpm playwright test )

step "pytest"
# Two workers (a module stays on one worker, so its module-scoped servers start once; fixtures take
# free ports and per-worker temp dirs), then the modules marked serial alone (tests/conftest.py:
# latency probes and wall-clock bounds must not feel another worker's load; the API fuzzer needs
# its whole example budget in one process).
export MODELVAULT_FAIL_ON_SKIP=1
pytest_part() {  # exit 5 (nothing selected, e.g. a path given as "$@") is not a failure
  python -m pytest -q -p no:cacheprovider "$@" || { rc=$?; [ "$rc" -eq 5 ] || exit "$rc"; }
}
# Lint and types (1.5 min of mostly one core) run beside the parallel group, whose workers often
# wait on servers and clients: nothing there measures time (that is the serial group, which
# starts only once they finished). Not beside Galata: its screenshots and frame timings would.
lint_log=$(mktemp)
( set -e; lint_and_types ) >"$lint_log" 2>&1 &
lint=$!
trap 'kill "$lint" 2>/dev/null || true' EXIT  # pytest_part exits on a failure
pytest_part -n "${PYTEST_WORKERS:-2}" --dist loadfile -m "not serial" "$@"
step "lint and types (ran beside the parallel group)"
lint_rc=0
wait "$lint" || lint_rc=$?
cat "$lint_log"
[ "$lint_rc" -eq 0 ] || { echo "lint and types failed"; exit "$lint_rc"; }
step "pytest: serial group"
pytest_part -m serial "$@"
