#!/usr/bin/env bash
# The README's test command: install system and Python packages, then run the whole test suite.
# Tests start their own services (a docker-registry on 127.0.0.1, Podman containers).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

# Podman needs two settings in this sandbox only (runc: crun fails on hybrid cgroups; limits cannot
# be raised here). They live in a test-only containers.conf, never in the product.
export CONTAINERS_CONF="$PWD/.venv/test-containers.conf"
cat > "$CONTAINERS_CONF" <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
CONF

set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit "$rc"
