#!/usr/bin/env bash
# The test suite: lint, types, then every test against real registries and podman.
# Sets itself up first (scripts/setup.sh), so it runs on a fresh Debian 12 machine.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export CONTAINERS_CONF="$PWD/compose/containers.conf"
.venv/bin/ruff check bundler tests benchmarks
.venv/bin/mypy bundler
# pytest exits 5 when no test ran; set -e turns that into a failure too.
.venv/bin/python -m pytest -q "$@"
