#!/usr/bin/env bash
# The test suite: lint, types, then every test against real registries and podman.
# Sets itself up first (scripts/setup.sh), so it runs on a fresh Debian 12 machine.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export CONTAINERS_CONF="$PWD/compose/containers.conf"
.venv/bin/ruff check bundler tests testkit benchmarks
.venv/bin/mypy bundler testkit benchmarks
# the OCI model, transports, bundle format and engine are typed strictly
.venv/bin/mypy --strict bundler/oci bundler/transport bundler/bundle bundler/engine
# no function graded D or worse, no module over 400 lines
complex=$(.venv/bin/radon cc -n D -s bundler)
if [ -n "$complex" ]; then echo "radon: functions graded D or worse:"; echo "$complex"; exit 1; fi
long=$(find bundler -name '*.py' -exec wc -l {} + | awk '$2 != "total" && $1 > 400 {print $2" ("$1" lines)"}')
if [ -n "$long" ]; then echo "modules over 400 lines:"; echo "$long"; exit 1; fi
# pytest exits 5 when no test ran; set -e turns that into a failure too.
.venv/bin/python -m pytest -q "$@"
