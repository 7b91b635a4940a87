#!/usr/bin/env bash
# The README's first command: install what the demo needs, then run it end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
source scripts/podman-sandbox.sh
if podman_needs_sandbox_settings; then
  echo "note: this machine needs sandbox settings for Podman (see scripts/podman-sandbox.sh)" >&2
  use_podman_sandbox_settings
fi
exec .venv/bin/python scripts/demo.py
