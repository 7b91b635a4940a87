"""Tiny real images for engine tests: static busybox serving /v2/health/ready, or failing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from shipml.layers import Entry, EntryKind, bytes_entry, file_entry, write_layer
from shipml.layers.entries import image_path
from shipml.mutate import append_layers, canonical, scratch, with_config
from shipml.oci.config import ContainerConfig, Healthcheck
from shipml.oci.image import Image
from shipml.oci.mediatypes import Compression
from shipml.oci.platform import Platform

BUSYBOX = Path("/usr/bin/busybox")  # Debian's busybox-static: one static binary, no libc needed
# Serves the files under /www, so GET /v2/health/ready answers 200 once httpd listens.
SERVE = 'echo \'{"msg":"starting"}\'; exec busybox httpd -f -p "${SHIPML_PORT:-8080}" -h /www'
# PID 1 ignores SIGTERM unless it traps it: the trap plays the server's drain-then-exit-0.
SERVE_AND_DRAIN = (
    'echo \'{"msg":"starting"}\'; trap \'echo drained; exit 0\' TERM; '
    "busybox httpd -f -p 8080 -h /www & wait"
)


def podman_usable() -> bool:
    """Whether podman is installed and CONTAINERS_CONF is set (scripts/test.sh writes it)."""
    return shutil.which("podman") is not None and bool(os.environ.get("CONTAINERS_CONF"))


def busybox_image(
    out_dir: Path,
    *,
    script: str = SERVE,
    title: str = "busybox-test",
    healthcheck: Healthcheck | None = None,
    compression: Compression = Compression.GZIP,
) -> Image:
    """A one-layer image running ``sh -c SCRIPT`` as user 65534, exposing 8080/tcp."""
    entries = [
        file_entry("bin/busybox", BUSYBOX),
        Entry(image_path("bin/sh"), EntryKind.SYMLINK, 0o777, target="busybox"),
        Entry(image_path("tmp"), EntryKind.DIR, 0o1777),
        bytes_entry("www/v2/health/ready", b"ready\n"),
    ]
    layer = write_layer(entries, out_dir, compression=compression, mtime=0)
    image = append_layers(scratch(Platform("linux", "amd64")), layer)
    config = ContainerConfig(
        user="65534:65534",
        exposed_ports=frozenset({"8080/tcp"}),
        env=("PATH=/bin",),
        entrypoint=("/bin/sh", "-c", script),
        labels={"org.opencontainers.image.title": title},
        stop_signal="SIGTERM",
        healthcheck=healthcheck,
    )
    return canonical(with_config(image, config))


def remove_engine_images(*image_ids: str) -> None:
    """``podman rmi --force`` the images (containers of them go too); absent ones are fine."""
    if image_ids:
        subprocess.run(["podman", "rmi", "--force", "--ignore", *image_ids],
                       capture_output=True, check=False)
