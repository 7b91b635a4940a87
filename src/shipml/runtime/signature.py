"""Tensor signatures (names, V2 datatypes, shapes) and their enforcement on request tensors."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from shipml.errors import RequestError, SignatureError
from shipml.spec import SignatureDecl, TensorDecl

# Open Inference Protocol tensor datatypes and the numpy dtypes that carry them.
V2_TO_NUMPY: dict[str, np.dtype[np.generic]] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    "BYTES": np.dtype(object),
}
_NUMPY_TO_V2 = {v: k for k, v in V2_TO_NUMPY.items()}


def v2_datatype(dtype: np.dtype[np.generic]) -> str:
    """The V2 datatype name of a numpy dtype (strings and objects are BYTES)."""
    if dtype.kind in "OUS":
        return "BYTES"
    try:
        return _NUMPY_TO_V2[dtype]
    except KeyError:
        raise SignatureError(
            f"numpy dtype {dtype} has no Open Inference Protocol datatype"
        ) from None


@dataclass(frozen=True)
class TensorSpec:
    """One named tensor; -1 marks a variable dimension and the first dimension is the batch."""

    name: str
    datatype: str
    shape: tuple[int, ...]
    allow_nan: bool = False

    def __post_init__(self) -> None:
        if self.datatype not in V2_TO_NUMPY:
            raise SignatureError(f"tensor {self.name!r}: unknown datatype {self.datatype!r}")
        if not self.shape:
            raise SignatureError(f"tensor {self.name!r}: needs at least the batch dimension")

    @property
    def dtype(self) -> np.dtype[np.generic]:
        return V2_TO_NUMPY[self.datatype]

    @property
    def example_shape(self) -> list[int]:
        """The shape of the smallest valid tensor: each variable dimension (batch included) 1."""
        return [1 if d == -1 else d for d in self.shape]

    def to_json(self) -> dict[str, object]:
        """Model-metadata form of the Open Inference Protocol."""
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


@dataclass(frozen=True)
class Signature:
    """What a model takes and gives; outputs may be empty when the model does not say."""

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...] = field(default=())
    default_outputs: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        for group, tensors in (("input", self.inputs), ("output", self.outputs)):
            names = [t.name for t in tensors]
            if len(set(names)) != len(names):
                raise SignatureError(f"duplicate {group} names in signature: {names}")
        if not self.inputs:
            raise SignatureError("a signature needs at least one input")
        unknown = set(self.default_outputs) - set(self.output_names)
        if unknown:
            raise SignatureError(f"default outputs {sorted(unknown)} are not outputs of the model")

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.outputs)

    def to_json(self) -> dict[str, object]:
        return {
            "inputs": [t.to_json() for t in self.inputs],
            "outputs": [t.to_json() for t in self.outputs],
        }

    def check_outputs(self, requested: Iterable[str]) -> tuple[str, ...]:
        """Validate requested output names; none requested means the default outputs."""
        names = tuple(requested)
        if not names:
            return self.default_outputs or self.output_names
        unknown = [n for n in names if n not in self.output_names]
        if unknown:
            raise RequestError(
                f"unknown output {unknown[0]!r}; this model gives {list(self.output_names)}"
            )
        return names

    def check_inputs(self, tensors: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], int]:
        """Enforce names, dtypes, shapes and NaN rules; return the model's dtypes and the rows."""
        expected = {t.name for t in self.inputs}
        for name in tensors:
            if name not in expected:
                raise RequestError(f"unknown input {name!r}; this model takes {sorted(expected)}")
        checked: dict[str, np.ndarray] = {}
        for spec in self.inputs:
            if spec.name not in tensors:
                raise RequestError(
                    f"missing input {spec.name!r} ({spec.datatype} {list(spec.shape)})"
                )
            checked[spec.name] = check_tensor(spec, tensors[spec.name])
        rows = {a.shape[0] for a in checked.values()}
        if len(rows) > 1:
            raise RequestError(f"inputs disagree on the number of rows: {sorted(rows)}")
        return checked, rows.pop()


def check_tensor(spec: TensorSpec, array: np.ndarray) -> np.ndarray:
    """Check one request tensor against its spec; return it in the model's dtype."""
    if array.ndim != len(spec.shape):
        raise RequestError(
            f"input {spec.name!r}: expected shape {list(spec.shape)}, got {list(array.shape)} "
            f"({array.ndim} dimensions instead of {len(spec.shape)})"
        )
    for axis, (want, got) in enumerate(zip(spec.shape, array.shape, strict=True)):
        if want != -1 and want != got:
            raise RequestError(
                f"input {spec.name!r}: expected shape {list(spec.shape)}, got {list(array.shape)} "
                f"(dimension {axis} must be {want})"
            )
    if array.shape[0] == 0:
        raise RequestError(f"input {spec.name!r}: the batch is empty")
    if array.dtype != spec.dtype:
        # Widening is lossless (INT32 -> FP64, FP32 -> FP64); anything else is the caller's error.
        if (
            spec.datatype == "BYTES"
            or not np.can_cast(array.dtype, spec.dtype, "same_kind")
            or (array.dtype.kind == "f" and spec.dtype.kind in "iub")
        ):
            raise RequestError(
                f"input {spec.name!r}: expected datatype {spec.datatype}, "
                f"got {v2_datatype(array.dtype)}"
            )
        array = array.astype(spec.dtype)
    if not spec.allow_nan and array.dtype.kind == "f" and not np.isfinite(array).all():
        raise RequestError(
            f"input {spec.name!r}: contains NaN or infinity, which this model's signature forbids"
        )
    return array


def from_decl(decl: SignatureDecl) -> Signature:
    """A runtime signature from the one declared in shipml.yaml."""

    def tensors(items: Iterable[TensorDecl]) -> tuple[TensorSpec, ...]:
        return tuple(TensorSpec(t.name, t.datatype, tuple(t.shape), t.allow_nan) for t in items)

    return Signature(inputs=tensors(decl.inputs), outputs=tensors(decl.outputs))
