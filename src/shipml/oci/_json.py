"""Reading and writing the JSON documents of the specs, with errors that name the field."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from shipml.errors import FormatError

JSONObject = dict[str, Any]


def loads(data: bytes, what: str) -> JSONObject:
    """Parse ``data`` as a JSON object; FormatError naming ``what`` otherwise."""
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FormatError(f"{what} is not valid JSON: {e}") from e
    if not isinstance(value, dict):
        raise FormatError(f"{what} must be a JSON object, got {type(value).__name__}")
    return value


def dumps(value: Mapping[str, Any]) -> bytes:
    """Compact JSON in the given key order, as containerd and go-containerregistry write it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def field(obj: Mapping[str, Any], key: str, kind: type, where: str, *, default: Any = ...) -> Any:
    """``obj[key]`` checked to be a ``kind``; a missing key gives ``default`` or FormatError."""
    if key not in obj or obj[key] is None:
        if default is ...:
            raise FormatError(f"{where}: missing required field {key!r}")
        return default
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise FormatError(
            f"{where}: field {key!r} must be {kind.__name__}, got {type(value).__name__}"
        )
    return value


def str_map(obj: Mapping[str, Any], key: str, where: str) -> dict[str, str]:
    """A string-to-string map field such as annotations or labels; empty when absent."""
    value: dict[str, Any] = field(obj, key, dict, where, default={})
    if not all(isinstance(v, str) for v in value.values()):
        raise FormatError(f"{where}: every value of {key!r} must be a string")
    return dict(value)


def str_list(obj: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    """A list-of-strings field such as Env or urls; empty when absent."""
    value: list[Any] = field(obj, key, list, where, default=[])
    if not all(isinstance(v, str) for v in value):
        raise FormatError(f"{where}: every item of {key!r} must be a string")
    return tuple(value)
