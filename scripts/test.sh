#!/usr/bin/env bash
# The README's test command: install system and Python packages, then run the whole test suite.
# Tests start their own services (a docker-registry on 127.0.0.1, Podman containers).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

source scripts/podman-sandbox.sh
use_podman_sandbox_settings

set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit "$rc"
