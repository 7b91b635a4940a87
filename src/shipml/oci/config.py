"""The image configuration (config.md): platform, runtime defaults, rootfs diff_ids, history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shipml.errors import FormatError
from shipml.oci import _json
from shipml.oci.digest import Digest
from shipml.oci.platform import Platform


@dataclass(frozen=True, slots=True)
class Healthcheck:
    """Docker's ``Healthcheck`` (not in config.md; Docker and Podman read it): durations in ns."""

    test: tuple[str, ...]  # ["CMD", arg...], ["CMD-SHELL", line] or ["NONE"]
    interval_ns: int = 0
    timeout_ns: int = 0
    start_period_ns: int = 0
    retries: int = 0

    def to_json(self) -> dict[str, Any]:
        """The JSON object, zero durations and retries omitted (the engine's defaults)."""
        out: dict[str, Any] = {"Test": list(self.test)}
        for key, value in (
            ("Interval", self.interval_ns),
            ("Timeout", self.timeout_ns),
            ("StartPeriod", self.start_period_ns),
            ("Retries", self.retries),
        ):
            if value:
                out[key] = value
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any], where: str) -> Healthcheck:
        """Read the ``Healthcheck`` object."""
        return cls(
            test=_json.str_list(obj, "Test", where),
            interval_ns=_json.field(obj, "Interval", int, where, default=0),
            timeout_ns=_json.field(obj, "Timeout", int, where, default=0),
            start_period_ns=_json.field(obj, "StartPeriod", int, where, default=0),
            retries=_json.field(obj, "Retries", int, where, default=0),
        )


@dataclass(frozen=True, slots=True)
class ContainerConfig:
    """The ``config`` object: how a container of the image runs by default."""

    user: str | None = None
    exposed_ports: frozenset[str] = frozenset()
    env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    volumes: frozenset[str] = frozenset()
    working_dir: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    stop_signal: str | None = None
    healthcheck: Healthcheck | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object, omitting unset fields; sets become sorted ``{key: {}}`` maps."""
        out: dict[str, Any] = {}
        if self.user:
            out["User"] = self.user
        if self.exposed_ports:
            out["ExposedPorts"] = {p: {} for p in sorted(self.exposed_ports)}
        if self.env:
            out["Env"] = list(self.env)
        if self.entrypoint is not None:
            out["Entrypoint"] = list(self.entrypoint)
        if self.cmd is not None:
            out["Cmd"] = list(self.cmd)
        if self.volumes:
            out["Volumes"] = {v: {} for v in sorted(self.volumes)}
        if self.working_dir:
            out["WorkingDir"] = self.working_dir
        if self.labels:
            out["Labels"] = dict(sorted(self.labels.items()))
        if self.stop_signal:
            out["StopSignal"] = self.stop_signal
        if self.healthcheck is not None:
            out["Healthcheck"] = self.healthcheck.to_json()
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any], where: str) -> ContainerConfig:
        """Read the ``config`` object."""
        entrypoint = _json.field(obj, "Entrypoint", list, where, default=None)
        cmd = _json.field(obj, "Cmd", list, where, default=None)
        health = _json.field(obj, "Healthcheck", dict, where, default=None)
        return cls(
            user=_json.field(obj, "User", str, where, default=None) or None,
            exposed_ports=frozenset(_json.field(obj, "ExposedPorts", dict, where, default={})),
            env=_json.str_list(obj, "Env", where),
            entrypoint=None if entrypoint is None else _json.str_list(obj, "Entrypoint", where),
            cmd=None if cmd is None else _json.str_list(obj, "Cmd", where),
            volumes=frozenset(_json.field(obj, "Volumes", dict, where, default={})),
            working_dir=_json.field(obj, "WorkingDir", str, where, default=None) or None,
            labels=_json.str_map(obj, "Labels", where),
            stop_signal=_json.field(obj, "StopSignal", str, where, default=None) or None,
            healthcheck=None if health is None else Healthcheck.from_json(
                health, f"{where}.Healthcheck"
            ),
        )


@dataclass(frozen=True, slots=True)
class History:
    """One ``history`` entry; ``empty_layer`` entries have no layer of their own."""

    created: str | None = None
    created_by: str | None = None
    author: str | None = None
    comment: str | None = None
    empty_layer: bool = False

    def to_json(self) -> dict[str, Any]:
        """The JSON object, omitting unset fields."""
        out: dict[str, Any] = {}
        for key, value in (
            ("created", self.created),
            ("created_by", self.created_by),
            ("author", self.author),
            ("comment", self.comment),
        ):
            if value:
                out[key] = value
        if self.empty_layer:
            out["empty_layer"] = True
        return out

    @classmethod
    def from_json(cls, obj: Any, where: str) -> History:
        """Read one history entry."""
        if not isinstance(obj, dict):
            raise FormatError(f"{where} must be a JSON object")
        return cls(
            created=_json.field(obj, "created", str, where, default=None),
            created_by=_json.field(obj, "created_by", str, where, default=None),
            author=_json.field(obj, "author", str, where, default=None),
            comment=_json.field(obj, "comment", str, where, default=None),
            empty_layer=_json.field(obj, "empty_layer", bool, where, default=False),
        )


@dataclass(frozen=True, slots=True)
class ImageConfig:
    """The whole config blob; ``diff_ids`` are the uncompressed layer digests, bottom first.

    The platform fields (architecture, os, variant, ...) sit at the top level of the JSON.
    """

    platform: Platform
    created: str | None = None
    author: str | None = None
    config: ContainerConfig = field(default_factory=ContainerConfig)
    diff_ids: tuple[Digest, ...] = ()
    history: tuple[History, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The JSON object of config.md, in a fixed key order."""
        out: dict[str, Any] = {}
        if self.created:
            out["created"] = self.created
        if self.author:
            out["author"] = self.author
        out |= self.platform.to_json()  # architecture, os, os.version, os.features, variant
        out["config"] = self.config.to_json()
        out["rootfs"] = {"type": "layers", "diff_ids": [str(d) for d in self.diff_ids]}
        if self.history:
            out["history"] = [h.to_json() for h in self.history]
        return out

    def to_bytes(self) -> bytes:
        """The config blob bytes (compact JSON)."""
        return _json.dumps(self.to_json())

    @classmethod
    def from_bytes(cls, data: bytes, where: str = "image config") -> ImageConfig:
        """Parse a config blob; FormatError names the field that is wrong."""
        obj = _json.loads(data, where)
        rootfs: dict[str, Any] = _json.field(obj, "rootfs", dict, where)
        if rootfs.get("type") != "layers":
            raise FormatError(f"{where}: rootfs.type must be 'layers'")
        history: list[Any] = _json.field(obj, "history", list, where, default=[])
        return cls(
            platform=Platform.from_json(obj, where),
            created=_json.field(obj, "created", str, where, default=None),
            author=_json.field(obj, "author", str, where, default=None),
            config=ContainerConfig.from_json(
                _json.field(obj, "config", dict, where, default={}), f"{where}.config"
            ),
            diff_ids=tuple(
                Digest.parse(d) for d in _json.str_list(rootfs, "diff_ids", f"{where}.rootfs")
            ),
            history=tuple(
                History.from_json(h, f"{where}.history[{i}]") for i, h in enumerate(history)
            ),
        )
