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
pip install -q "jupyterlab==4.6.6"
pip install -q -e ".[dev,test]"

step "extension registered"
out=$(jupyter labextension list 2>&1); echo "$out" | grep modelvault || true
grep -q "modelvault-jlab.*enabled.*OK" <<<"$out" || { echo "labextension not enabled"; exit 1; }
out=$(jupyter server extension list 2>&1)
grep -q "modelvault_jlab.*enabled" <<<"$out" || { echo "server extension not enabled"; echo "$out"; exit 1; }

step "lint and types"
ruff check modelvault_jlab tests bench
mypy
lint-imports  # layers, forbidden imports and no cycles: [tool.importlinter] in pyproject.toml
jlpm lint:check

step "frontend unit tests"
jlpm test

step "UI tests (Galata, Chromium)"
( cd ui-tests && jlpm install && jlpm playwright test )

step "pytest"
MODELVAULT_FAIL_ON_SKIP=1 python -m pytest -q -p no:cacheprovider "$@"
