#!/usr/bin/env bash
# Sourced by the demo and the tests: Debian packages (when root), a virtualenv with shipml in it.
set -euo pipefail
APT_PACKAGES=(podman runc skopeo docker-registry mmdebstrap uidmap fuse-overlayfs busybox-static openssl)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "installing Debian packages: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null
  else
    echo "note: not root, so not installing ${missing[*]}; container tests will be skipped" >&2
  fi
fi

if ! python3 -c "import ensurepip, venv" 2>/dev/null && [ "$(id -u)" -eq 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq python3-venv >/dev/null
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip --version >/dev/null 2>&1 || .venv/bin/python -m ensurepip >/dev/null
.venv/bin/python -m pip install -q --upgrade pip uv >/dev/null
.venv/bin/uv pip install -q -p .venv/bin/python -e '.[dev]'
