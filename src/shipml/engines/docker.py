"""Docker: images go in by ``docker load`` of a docker-archive; containers as with Podman.

The docker CLI talks to whatever daemon DOCKER_HOST names, so a Docker-compatible API socket
(Docker's own, or ``podman system service``) is reached through it too.
"""

from __future__ import annotations

import json
import re
from typing import Any

from shipml.engines.base import Container, Publish
from shipml.engines.cli import CliEngine
from shipml.errors import EngineError

# One published port in `docker ps`: "127.0.0.1:8080->8080/tcp", ":::8080->8080/tcp",
# "[::1]:8080->8080/tcp", or a range "0.0.0.0:8080-8081->8080-8081/tcp".
_PORT = re.compile(
    r"^(?P<ip>\[[0-9a-fA-F:]*\]|[0-9a-fA-F:.]*?):(?P<host>\d+)(?:-(?P<host_end>\d+))?"
    r"->(?P<ctr>\d+)(?:-\d+)?/tcp$"
)


class Docker(CliEngine):
    """The docker CLI against its daemon (DOCKER_HOST or the default socket)."""

    name = "docker"
    ps_format = "{{json .}}"

    def parse_ps(self, out: str) -> list[Container]:
        """``docker ps --format '{{json .}}'``: one JSON object per line, strings for lists."""
        try:
            return [_container(json.loads(line)) for line in out.splitlines() if line.strip()]
        except (ValueError, LookupError, TypeError) as e:
            raise EngineError(f"cannot read `docker ps` output: {e}") from e


def parse_ports(text: str) -> tuple[Publish, ...]:
    """The published TCP ports of a ``docker ps`` Ports column (unpublished ones are skipped)."""
    out: list[Publish] = []
    for item in (part.strip() for part in text.split(",")):
        m = _PORT.match(item)
        if m is None:
            continue
        first = int(m["host"])
        last = int(m["host_end"] or first)
        ip = m["ip"].strip("[]") or "::"
        out += [Publish(first + i, int(m["ctr"]) + i, ip) for i in range(last - first + 1)]
    return tuple(out)


def parse_labels(text: str) -> dict[str, str]:
    """The Labels column, ``k=v,k2=v2``: Docker joins them with commas, which values may hold,
    so a piece without ``=`` continues the value before it."""
    labels: dict[str, str] = {}
    key = None
    for piece in text.split(","):
        if "=" in piece or key is None:
            key, _, value = piece.partition("=")
            labels[key] = value
        else:
            labels[key] += "," + piece
    return {k: v for k, v in labels.items() if k}


def _container(row: dict[str, Any]) -> Container:
    return Container(
        id=row["ID"],
        name=row["Names"].split(",")[0],
        image=row.get("Image", ""),
        state=row.get("State", ""),
        status=row.get("Status", ""),
        ports=parse_ports(row.get("Ports", "")),
        labels=parse_labels(row.get("Labels", "")),
    )
