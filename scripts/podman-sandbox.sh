#!/usr/bin/env bash
# Sourced by the tests (always) and the demo (only where needed): Podman settings that a sandbox
# like the CI machine needs and a normal machine does not. runc, because crun fails on hybrid
# cgroups (v1 controllers with a v2 "unified" mount); lowered default ulimits, because the hard
# limits here are below Podman's defaults and cannot be raised. They live in a throwaway
# containers.conf pointed at by CONTAINERS_CONF, never in shipml itself.
podman_needs_sandbox_settings() {
  local nofile
  nofile=$(ulimit -Hn)
  if [ -d /sys/fs/cgroup/unified ]; then return 0; fi
  [ "$nofile" != unlimited ] && [ "$nofile" -lt 1048576 ]
}

use_podman_sandbox_settings() {
  export CONTAINERS_CONF="$PWD/.venv/test-containers.conf"
  cat > "$CONTAINERS_CONF" <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
CONF
}
