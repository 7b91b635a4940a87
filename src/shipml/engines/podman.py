"""Podman: images go into containers-storage with skopeo (blob by blob), else by ``podman load``.

skopeo copies in Docker schema 2 format when every layer is gzip: Podman reads a Healthcheck
only from a Docker-format image config (libimage inspect), so a plain ``podman run`` of the image
has it too. ``shipml run`` also passes it as ``--health-*`` flags, for zstd images kept as OCI.
"""

from __future__ import annotations

import json
import shutil
from typing import Any

from shipml.engines.base import Container, ImageSource, Publish, RunOptions
from shipml.engines.cli import CliEngine, run_tool
from shipml.errors import EngineError
from shipml.oci.config import Healthcheck
from shipml.oci.mediatypes import Compression, layer_compression


class Podman(CliEngine):
    """The podman CLI (rootful or rootless, whichever the user runs)."""

    name = "podman"
    # Podman's --read-only also mounts /run and /var/tmp by default; only /tmp is wanted.
    read_only_flags = ("--read-only", "--read-only-tmpfs=false", "--tmpfs", "/tmp")

    def __init__(self, binary: str, *, skopeo: str | None = None) -> None:
        super().__init__(binary)
        self.skopeo = skopeo if skopeo is not None else shutil.which("skopeo")

    def load(self, source: ImageSource) -> None:
        """``skopeo copy oci:... containers-storage:NAME`` when possible, else ``podman load``."""
        if source.layout is not None and self.skopeo:
            run_tool(self.copy_args(source), what="`skopeo copy` into containers-storage")
        else:
            super().load(source)

    def copy_args(self, source: ImageSource) -> list[str]:
        """The skopeo command that copies ``source`` into Podman's storage."""
        assert source.layout is not None and self.skopeo
        args = [self.skopeo, "copy", "--quiet"]
        if all(
            layer_compression(layer.media_type()) == Compression.GZIP
            for layer in source.image.layers()
        ):
            args += ["--format", "v2s2"]
        return [*args, source.layout, f"containers-storage:{source.name}"]

    def run_args(self, options: RunOptions) -> list[str]:
        """The common ``run`` arguments, plus the healthcheck as flags: Podman ignores an OCI
        image's Healthcheck (skopeo keeps zstd images in OCI format)."""
        args = super().run_args(options)
        return [*args[:-1], *health_flags(options.healthcheck), args[-1]]

    def parse_ps(self, out: str) -> list[Container]:
        """``podman ps --format json``: one JSON array."""
        try:
            rows: list[dict[str, Any]] = json.loads(out or "[]")
            return [_container(row) for row in rows]
        except (ValueError, LookupError, TypeError) as e:
            raise EngineError(f"cannot read `podman ps` output: {e}") from e


def health_flags(check: Healthcheck | None) -> list[str]:
    """``podman run --health-*`` flags for a Docker-shaped healthcheck (none for NONE/absent)."""
    if check is None or check.test[:1] not in (("CMD",), ("CMD-SHELL",)):
        return []
    # Podman takes exec form as a JSON array, shell form as a plain string.
    command = json.dumps(list(check.test[1:])) if check.test[0] == "CMD" else check.test[1]
    flags = ["--health-cmd", command]
    for flag, ns in (("--health-interval", check.interval_ns),
                     ("--health-timeout", check.timeout_ns),
                     ("--health-start-period", check.start_period_ns)):
        if ns:
            flags += [flag, f"{ns / 1e9:g}s"]
    return flags + (["--health-retries", str(check.retries)] if check.retries else [])


def _container(row: dict[str, Any]) -> Container:
    ports = tuple(
        Publish(int(p["host_port"]) + i, int(p["container_port"]) + i,
                p.get("host_ip") or "0.0.0.0")
        for p in row.get("Ports") or ()
        for i in range(int(p.get("range") or 1))
    )
    names = row.get("Names") or [row["Id"][:12]]
    return Container(
        id=row["Id"],
        name=names[0],
        image=row.get("Image", ""),
        state=row.get("State", ""),
        status=row.get("Status", ""),
        ports=ports,
        labels=row.get("Labels") or {},
    )
