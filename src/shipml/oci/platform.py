"""The platform an image runs on (image-index.md ``platform``): os, architecture, variant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shipml.errors import FormatError
from shipml.oci import _json


@dataclass(frozen=True, slots=True)
class Platform:
    """An OS/architecture pair, e.g. ``linux/amd64`` or ``linux/arm64/v8``."""

    os: str
    architecture: str
    variant: str | None = None
    os_version: str | None = None
    os_features: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse ``os/arch[/variant]``; FormatError otherwise."""
        parts = text.strip().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise FormatError(
                f"invalid platform {text!r}", hint="expected os/arch[/variant], e.g. linux/arm64"
            )
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else None)

    def __str__(self) -> str:
        base = f"{self.os}/{self.architecture}"
        return f"{base}/{self.variant}" if self.variant else base

    def to_json(self) -> dict[str, Any]:
        """The descriptor ``platform`` object."""
        out: dict[str, Any] = {"architecture": self.architecture, "os": self.os}
        if self.os_version:
            out["os.version"] = self.os_version
        if self.os_features:
            out["os.features"] = list(self.os_features)
        if self.variant:
            out["variant"] = self.variant
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any], where: str = "platform") -> Platform:
        """Read a descriptor ``platform`` object."""
        return cls(
            os=_json.field(obj, "os", str, where),
            architecture=_json.field(obj, "architecture", str, where),
            variant=_json.field(obj, "variant", str, where, default=None),
            os_version=_json.field(obj, "os.version", str, where, default=None),
            os_features=_json.str_list(obj, "os.features", where),
        )

    def satisfies(self, wanted: Platform) -> bool:
        """Whether this platform serves a request for ``wanted`` (no wanted variant matches any)."""
        return (
            self.os == wanted.os
            and self.architecture == wanted.architecture
            and (wanted.variant is None or self.variant == wanted.variant)
        )
