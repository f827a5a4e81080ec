#!/usr/bin/env bash
# The demo: set up this machine, start a synthetic upstream (token auth, TLS) and a target registry
# (basic auth, TLS) on 127.0.0.1, then run `bundler export` and `bundler import` end to end; then, with
# the upstream stopped, `bundler import` without --registry bootstraps the registry the bundle carries
# (real Quay when shared/quay-image/build.sh has built it, else the distribution flavor).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export CONTAINERS_CONF="$PWD/compose/containers.conf"
exec .venv/bin/python -m testkit.demo "${DEMO_DIR:-demo-out}" "$@"
