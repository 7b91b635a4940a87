"""The engine interface: records for what to run and what runs, and the Engine protocol."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from shipml.errors import EngineError
from shipml.oci.config import Healthcheck
from shipml.oci.image import Image

# Every container shipml starts carries these labels; `shipml ps` lists only those.
MANAGED_LABEL = "io.shipml.managed"
REF_LABEL = "io.shipml.ref"
DEFAULT_HOST_IP = "127.0.0.1"
_PUBLISH = re.compile(
    r"^(?:(?P<ip>\[[0-9a-fA-F:.]+\]|\d+\.\d+\.\d+\.\d+):)?(?P<host>\d+)(?::(?P<ctr>\d+))?$"
)


def _port(text: str, what: str, spec: str) -> int:
    value = int(text)
    if not 0 < value < 65536:
        raise EngineError(f"-p {spec}: {what} {value} is not a TCP port (1-65535)")
    return value


@dataclass(frozen=True, slots=True)
class Publish:
    """A host address published to a container port, ``-p HOST_IP:HOST_PORT:CONTAINER_PORT``."""

    host_port: int
    container_port: int
    host_ip: str = DEFAULT_HOST_IP

    @classmethod
    def parse(cls, text: str, *, container_port: int) -> Publish:
        """``[HOST_IP:]HOST_PORT[:CONTAINER_PORT]``; the host IP defaults to 127.0.0.1."""
        m = _PUBLISH.match(text.strip())
        if m is None:
            raise EngineError(
                f"-p {text}: expected [HOST_IP:]HOST_PORT[:CONTAINER_PORT]",
                hint="for example -p 8080, -p 127.0.0.1:9000:8080 or -p 0.0.0.0:8080:8080",
            )
        ip = (m["ip"] or DEFAULT_HOST_IP).strip("[]")
        ctr = _port(m["ctr"], "container port", text) if m["ctr"] else container_port
        return cls(_port(m["host"], "host port", text), ctr, ip)

    def argument(self) -> str:
        """The ``-p`` value both engines take."""
        ip = f"[{self.host_ip}]" if ":" in self.host_ip else self.host_ip
        return f"{ip}:{self.host_port}:{self.container_port}"

    @property
    def url(self) -> str:
        """Where a client on this machine reaches it (a wildcard address via loopback)."""
        ip = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host_ip, self.host_ip)
        host = f"[{ip}]" if ":" in ip else ip
        return f"http://{host}:{self.host_port}"


@dataclass(frozen=True, slots=True)
class ImageSource:
    """An image to move into an engine, the name to give it there, and its OCI layout address.

    ``layout`` is skopeo's ``oci:DIR:REF_NAME`` when the image sits under a ref name in an
    OCI layout (the local store), so it can be copied blob by blob without an archive.
    """

    image: Image
    name: str
    layout: str | None = None


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What ``Engine.run`` starts: an engine-local image, detached, under ``name``."""

    image: str
    name: str
    publish: tuple[Publish, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    read_only: bool = False  # read-only root filesystem with a writable tmpfs on /tmp only
    healthcheck: Healthcheck | None = None  # the image's, for engines that may not read it


@dataclass(frozen=True, slots=True)
class State:
    """A container's state from ``inspect``: status word, exit code, why it stopped."""

    status: str
    running: bool
    exit_code: int = 0
    oom_killed: bool = False
    error: str = ""

    def why(self) -> str:
        """A short reason a container is not running, for error messages."""
        if self.oom_killed:
            return "was killed for using too much memory (OOM)"
        if self.error:
            return f"could not start: {self.error}"
        if self.status in ("exited", "stopped", "dead"):
            return f"exited with code {self.exit_code}"
        return f"is {self.status}"


@dataclass(frozen=True, slots=True)
class Container:
    """One row of ``shipml ps``."""

    id: str
    name: str
    image: str
    state: str
    status: str
    ports: tuple[Publish, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        """The image reference shipml ran it from (the image column when unknown)."""
        return self.labels.get(REF_LABEL, self.image)


class Engine(Protocol):
    """A local container engine; every method raises EngineError on failure."""

    name: str

    def image_id(self, image: str) -> str | None:
        """The engine's ID (the config digest's hex) of a local image, None when absent."""

    def load(self, source: ImageSource) -> None:
        """Copy the image in under ``source.name`` (its ID there is its config digest's hex)."""

    def run(self, options: RunOptions) -> str:
        """Create and start a detached container; returns its ID."""

    def state(self, name: str) -> State:
        """The container's current state."""

    def logs(self, name: str, *, tail: int | None = None, follow: bool = False) -> Iterator[bytes]:
        """Its stdout and stderr, line by line (``follow`` keeps reading until it stops)."""

    def containers(self, *, all_states: bool = False) -> list[Container]:
        """shipml's containers (those with MANAGED_LABEL), running only unless ``all_states``."""

    def stop(self, name: str, *, timeout_s: int) -> None:
        """Send the stop signal (SIGTERM), kill after ``timeout_s``."""

    def remove(self, name: str) -> None:
        """Remove a container, force-killing it if still running."""
