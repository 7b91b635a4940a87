"""Running uv, the resolver and installer of the image's wheels, for a target platform."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shipml.errors import BuildError
from shipml.oci.platform import Platform

# uv's --python-platform triples per (architecture, variant); the glibc version comes from the base.
_ARCH = {"amd64": "x86_64", "arm64": "aarch64"}


@dataclass(frozen=True, slots=True)
class Target:
    """Where the wheels must run: an OCI platform, a Python version, the base's glibc."""

    platform: Platform
    python: str
    glibc: str = "2.36"

    def uv_platform(self) -> str:
        """uv's ``--python-platform`` value, e.g. ``x86_64-manylinux_2_36``."""
        arch = _ARCH.get(self.platform.architecture)
        if self.platform.os != "linux" or arch is None:
            raise BuildError(
                f"cannot install Python wheels for platform {self.platform}",
                hint="shipml builds images for linux/amd64 and linux/arm64",
            )
        return f"{arch}-manylinux_{self.glibc.replace('.', '_')}"

    def uv_args(self) -> list[str]:
        """The arguments that make uv resolve or install for this target, wheels only."""
        return [
            "--python-platform", self.uv_platform(),
            "--python-version", self.python,
            "--only-binary", ":all:",
        ]


def uv_binary() -> str:
    """The uv executable: the one of the ``uv`` package shipml depends on, else from PATH."""
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found is None:
            raise BuildError(
                "uv is not installed", hint="install it with 'pip install uv'"
            ) from None
        return found


def run_uv(args: Sequence[str], *, cwd: Path, what: str) -> str:
    """Run ``uv ARGS`` in ``cwd``, return its stdout; on failure a BuildError in uv's words."""
    env = {**os.environ, "UV_NO_PROGRESS": "1", "NO_COLOR": "1"}
    # uv reads these; a user's settings must not leak into what goes into an image.
    for name in ("UV_SYSTEM_PYTHON", "UV_PYTHON", "VIRTUAL_ENV", "UV_CONSTRAINT", "UV_OVERRIDE"):
        env.pop(name, None)
    proc = subprocess.run(
        [uv_binary(), *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        detail = "\n".join(
            line for line in proc.stderr.strip().splitlines() if line.strip()
        )
        raise BuildError(
            f"{what} failed:\n{detail}",
            hint="check the package names and versions in shipml.yaml's requirements",
        )
    return proc.stdout
