"""What the podman and docker command lines share: running them and the verbs they spell alike.

Both CLIs take the same ``run``/``inspect``/``logs``/``stop``/``rm``/``load`` arguments; they
differ in ``ps`` output and in how a read-only root filesystem gets its writable /tmp, which
``podman.py`` and ``docker.py`` supply.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from shipml.archive import write_docker_archive
from shipml.engines.base import MANAGED_LABEL, Container, ImageSource, RunOptions, State
from shipml.errors import EngineError
from shipml.oci.reference import Reference

_PORT_TAKEN = ("address already in use", "port is already allocated")


def run_tool(argv: Sequence[str], *, what: str, timeout_s: float = 300) -> str:
    """Run a command to completion; its stdout, or EngineError quoting its stderr."""
    try:
        proc = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except OSError as e:
        raise EngineError(f"cannot run {argv[0]}: {e}") from e
    except subprocess.TimeoutExpired as e:
        raise EngineError(f"{what} did not finish in {timeout_s:.0f} s") from e
    if proc.returncode != 0:
        detail = (proc.stderr.strip() or proc.stdout.strip() or f"exit code {proc.returncode}")
        raise EngineError(f"{what} failed: {detail}")
    return proc.stdout


def parse_state(inspected: str, name: str) -> State:
    """The State of ``inspect --type container`` JSON (the same shape in Podman and Docker)."""
    try:
        state: dict[str, Any] = json.loads(inspected)[0]["State"]
    except (ValueError, LookupError, TypeError) as e:
        raise EngineError(f"cannot read the state of container {name}: {e}") from e
    return State(
        status=str(state.get("Status", "unknown")),
        running=bool(state.get("Running", False)),
        exit_code=int(state.get("ExitCode") or 0),
        oom_killed=bool(state.get("OOMKilled", False)),
        error=str(state.get("Error") or ""),
    )


class CliEngine:
    """An engine driven through its command line at ``binary``."""

    name = "engine"
    # Flags for a read-only root filesystem whose only writable place is a tmpfs on /tmp.
    read_only_flags: tuple[str, ...] = ("--read-only", "--tmpfs", "/tmp")
    ps_format = "json"

    def __init__(self, binary: str) -> None:
        self.binary = binary

    def call(self, *args: str, timeout_s: float = 300) -> str:
        """Run ``<binary> ARGS``; its stdout."""
        return run_tool([self.binary, *args], what=f"`{self.name} {args[0]}`", timeout_s=timeout_s)

    def image_id(self, image: str) -> str | None:
        """The local image's ID (config digest hex), None when the engine does not have it."""
        try:
            out = self.call("image", "inspect", "--format", "{{.Id}}", image, timeout_s=60)
        except EngineError:
            return None
        return out.strip().removeprefix("sha256:") or None

    def load(self, source: ImageSource) -> None:
        """Load a docker-archive of the image, written to a temp directory."""
        with tempfile.TemporaryDirectory(prefix="shipml-load-") as tmp:
            archive = Path(tmp) / "image.tar"
            write_docker_archive(source.image, archive, ref=Reference.parse(source.name))
            self.call("load", "--input", str(archive))

    def run_args(self, options: RunOptions) -> list[str]:
        """The ``run`` arguments for ``options``: detached, labelled, never pulling."""
        args = ["run", "--detach", "--pull", "never", "--name", options.name]
        for key, value in {MANAGED_LABEL: "true", **options.labels}.items():
            args += ["--label", f"{key}={value}"]
        for publish in options.publish:
            args += ["--publish", publish.argument()]
        for key, value in options.env.items():
            args += ["--env", f"{key}={value}"]
        if options.read_only:
            args += self.read_only_flags
        return [*args, options.image]

    def run(self, options: RunOptions) -> str:
        """Start the container; a failed start is removed and explained."""
        try:
            return self.call(*self.run_args(options)).strip()
        except EngineError as e:
            self._discard(options.name)
            if any(taken in e.message.lower() for taken in _PORT_TAKEN):
                ports = ", ".join(f"{p.host_ip}:{p.host_port}" for p in options.publish)
                raise EngineError(
                    f"cannot publish {ports}: the port is already in use",
                    hint="pick another host port, e.g. -p 127.0.0.1:8081:8080",
                ) from e
            raise

    def _discard(self, name: str) -> None:
        # A failed `run` can leave the container created but not started.
        with contextlib.suppress(EngineError):
            self.remove(name)

    def state(self, name: str) -> State:
        """The container's state, from ``inspect``."""
        return parse_state(self.call("inspect", "--type", "container", name, timeout_s=60), name)

    def logs(self, name: str, *, tail: int | None = None, follow: bool = False) -> Iterator[bytes]:
        """Its output lines, stdout and stderr merged as the engine stored them."""
        args = [self.binary, "logs", *(["--tail", str(tail)] if tail is not None else [])]
        args += [*(["--follow"] if follow else []), name]
        try:
            proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        except OSError as e:
            raise EngineError(f"cannot run {self.binary}: {e}") from e
        assert proc.stdout is not None
        try:
            yield from proc.stdout
        finally:
            if proc.poll() is None:
                proc.terminate()
            proc.stdout.close()
            code = proc.wait()
        if code not in (0, -15):
            raise EngineError(f"`{self.name} logs {name}` failed with exit code {code}")

    def ps_args(self, *, all_states: bool) -> list[str]:
        """``ps`` over shipml's containers only, in the machine-readable format."""
        args = ["ps", "--no-trunc", "--filter", f"label={MANAGED_LABEL}=true"]
        return [*args, *(["--all"] if all_states else []), "--format", self.ps_format]

    def containers(self, *, all_states: bool = False) -> list[Container]:
        """shipml's containers, parsed from ``ps``."""
        return self.parse_ps(self.call(*self.ps_args(all_states=all_states), timeout_s=60))

    def parse_ps(self, out: str) -> list[Container]:
        """The rows of ``ps`` output (each engine prints its own shape)."""
        raise NotImplementedError

    def stop(self, name: str, *, timeout_s: int) -> None:
        """SIGTERM (the image's StopSignal), SIGKILL after ``timeout_s``."""
        self.call("stop", "--time", str(timeout_s), name, timeout_s=timeout_s + 60)

    def remove(self, name: str) -> None:
        """Remove the container, killing it first if it still runs."""
        self.call("rm", "--force", name, timeout_s=120)
