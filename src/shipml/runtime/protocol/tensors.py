"""JSON values <-> numpy arrays, strictly: a value of the wrong kind is a 400, never coerced."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import orjson

from shipml.errors import RequestError
from shipml.runtime.signature import V2_TO_NUMPY

# Which numpy kinds (from the JSON values) each V2 datatype accepts.
_ACCEPTED_KINDS = {"BOOL": "b", "BYTES": "US"}
_INT_KINDS = "iu"
_FLOAT_KINDS = "iuf"
_DUMPS_OPTIONS = orjson.OPT_SERIALIZE_NUMPY


def to_array(data: Any, datatype: str, shape: list[int] | None, *, what: str) -> np.ndarray:
    """Convert JSON ``data`` (flat or nested) into an array of ``datatype`` and ``shape``."""
    dtype = V2_TO_NUMPY.get(datatype)
    if dtype is None:
        raise RequestError(
            f"{what}: unknown datatype {datatype!r}; expected one of {sorted(V2_TO_NUMPY)}"
        )
    if not isinstance(data, list):
        data = [data]
    try:
        raw = np.asarray(data)
    except ValueError as e:
        raise RequestError(f"{what}: data is not a regular (rectangular) array: {e}") from None
    kinds = _ACCEPTED_KINDS.get(datatype) or (_FLOAT_KINDS if dtype.kind == "f" else _INT_KINDS)
    if raw.dtype.kind == "O" and dtype.kind == "f":
        raw = _nulls_to_nan(raw, what)
    elif raw.dtype.kind not in kinds and raw.size:
        raise RequestError(
            f"{what}: data does not match datatype {datatype} "
            f"(found {_json_kind(raw.dtype)} values)"
        )
    try:
        array = raw.astype(dtype, copy=False)
    except (ValueError, OverflowError) as e:
        raise RequestError(f"{what}: data does not fit datatype {datatype}: {e}") from None
    if shape is None:
        return array
    if any(not isinstance(d, int) or isinstance(d, bool) or d < 0 for d in shape):
        raise RequestError(f"{what}: shape must be a list of non-negative integers, got {shape}")
    if array.size != math.prod(shape):
        raise RequestError(
            f"{what}: shape {shape} needs {math.prod(shape)} values, data has {array.size}"
        )
    return array.reshape(shape)


def _nulls_to_nan(raw: np.ndarray, what: str) -> np.ndarray:
    """JSON has no NaN: null stands for a missing value in float tensors."""
    try:
        return raw.astype(np.float64)
    except (TypeError, ValueError):
        raise RequestError(f"{what}: data mixes numbers with non-numbers") from None


def _json_kind(dtype: np.dtype[Any]) -> str:
    return {"b": "boolean", "i": "integer", "u": "integer", "f": "float", "U": "string"}.get(
        dtype.kind, "mixed"
    )


def to_json_data(array: np.ndarray) -> Any:
    """A flat, JSON-serialisable form of an array (numpy arrays pass through to orjson)."""
    flat = array.reshape(-1)
    if flat.dtype.kind in "OUS":
        return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in flat]
    if flat.dtype == np.float16:
        return flat.astype(np.float32)
    if flat.dtype.kind in "iu":
        # numpy's longlong/ulonglong alias int64/uint64 but orjson knows only the canonical types.
        flat = flat.view(np.dtype(f"{flat.dtype.kind}{flat.dtype.itemsize}"))
    return np.ascontiguousarray(flat)


def to_json_nested(array: np.ndarray) -> Any:
    """The array as nested JSON lists (V1 predictions)."""
    if array.ndim > 1 and array.dtype.kind in "OUS":
        return [to_json_nested(row) for row in array]
    if array.ndim <= 1:
        return to_json_data(array)
    return to_json_data(array).reshape(array.shape)


def dumps(doc: Any) -> bytes:
    """Serialise a response document (numpy arrays included)."""
    return orjson.dumps(doc, option=_DUMPS_OPTIONS)


def loads(body: bytes) -> Any:
    """Parse a request body; malformed JSON is a 400 that says where."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise RequestError(f"request body is not valid JSON: {e}") from None
