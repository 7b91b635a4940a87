"""ONNX models run by onnxruntime on the CPU; the signature is read from the graph."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from shipml.errors import ModelError
from shipml.runtime.flavors import read_head
from shipml.runtime.signature import Signature, TensorSpec
from shipml.spec import ModelSpec

# onnxruntime's element type names and the Open Inference Protocol datatypes that carry them.
_ELEMENT_TO_V2 = {
    "bool": "BOOL",
    "uint8": "UINT8",
    "uint16": "UINT16",
    "uint32": "UINT32",
    "uint64": "UINT64",
    "int8": "INT8",
    "int16": "INT16",
    "int32": "INT32",
    "int64": "INT64",
    "float16": "FP16",
    "float": "FP32",
    "double": "FP64",
    "string": "BYTES",
}
# A serialized ModelProto starts with field 1 (ir_version, a small varint), then the next field
# in number order: producer_name, producer_version, domain, model_version, doc_string, graph,
# opset_import (onnx.proto3, message ModelProto).
_NEXT_FIELD_TAGS = frozenset({0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42})


def recognises(path: Path) -> bool:
    """``.onnx`` files, or files that begin as a serialized ONNX ModelProto."""
    if path.suffix.lower() == ".onnx":
        return True
    head = read_head(path, 3)
    return len(head) == 3 and head[0] == 0x08 and 0 < head[1] < 0x80 and head[2] in _NEXT_FIELD_TAGS


def load(path: Path, model: ModelSpec, project: Path) -> OnnxPredictor:
    """Open an inference session on the CPU; OMP_NUM_THREADS, when set, caps its threads."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: onnxruntime's warnings are not the user's
    # XGBoost and LightGBM follow OpenMP's variable; onnxruntime's own pool needs telling.
    threads = os.environ.get("OMP_NUM_THREADS", "")
    if threads.isdigit() and int(threads) > 0:
        options.intra_op_num_threads = int(threads)
    try:
        session = ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as e:  # onnxruntime raises bare pybind11 exception types
        raise ModelError(f"{path}: not a loadable ONNX model ({e})") from e
    return OnnxPredictor(session, path)


def _dims(shape: Sequence[Any] | None) -> tuple[int, ...]:
    """Graph dimensions with symbolic or unknown ones as -1."""
    return tuple(d if isinstance(d, int) and d > 0 else -1 for d in shape or ())


def _element(type_name: str, what: str, path: Path) -> str:
    element = type_name.removeprefix("tensor(").removesuffix(")")
    try:
        return _ELEMENT_TO_V2[element]
    except KeyError:
        raise ModelError(
            f"{path}: {what} has type {type_name}, which the inference protocol cannot carry",
            hint="export the model with tensors of bool, integer, float or string elements",
        ) from None


def _tensor_spec(arg: Any, what: str, path: Path) -> TensorSpec:
    if not arg.type.startswith("tensor("):
        raise ModelError(
            f"{path}: {what} {arg.name!r} is a {arg.type}, not a tensor",
            hint="export the model with tensor inputs and outputs",
        )
    dims = _dims(arg.shape)
    if not dims:
        raise ModelError(f"{path}: {what} {arg.name!r} is a scalar; it needs a batch dimension")
    return TensorSpec(arg.name, _element(arg.type, f"{what} {arg.name!r}", path), dims)


def _is_sequence_of_maps(type_name: str) -> bool:
    return type_name.startswith("seq(map(") and type_name.endswith("))")


def _output_spec(arg: Any, path: Path) -> TensorSpec:
    """An output's spec; a sequence of maps (scikit-learn's ZipMap) becomes a [-1, -1] tensor."""
    if _is_sequence_of_maps(arg.type):
        value_type = arg.type.removeprefix("seq(map(").removesuffix("))").split(",", 1)[1]
        return TensorSpec(arg.name, _element(value_type, f"output {arg.name!r}", path), (-1, -1))
    return _tensor_spec(arg, "output", path)


def _maps_to_tensor(rows: list[dict[Any, Any]], dtype: np.dtype[Any]) -> np.ndarray:
    """One row per map, columns in the map's key order (ZipMap keeps the class order)."""
    keys = list(rows[0]) if rows else []
    return np.array([[row[k] for k in keys] for row in rows], dtype=dtype)


def _as_dtype(array: np.ndarray, dtype: np.dtype[Any]) -> np.ndarray:
    """The same memory typed as ``dtype`` (onnxruntime's int64 is numpy's longlong alias)."""
    return array.view(dtype)


def _converter(type_name: str, spec: TensorSpec) -> Callable[[Any], np.ndarray] | None:
    """How a session output becomes the tensor its spec names, if it is not one already."""
    if _is_sequence_of_maps(type_name):
        return partial(_maps_to_tensor, dtype=spec.dtype)
    if spec.datatype in ("INT64", "UINT64"):
        return partial(_as_dtype, dtype=spec.dtype)
    return None


class OnnxPredictor:
    """An onnxruntime session; inputs and outputs keep the graph's names."""

    def __init__(self, session: Any, path: Path) -> None:
        self._session = session
        outputs = tuple(_output_spec(o, path) for o in session.get_outputs())
        converters = (
            (o.name, _converter(o.type, spec))
            for o, spec in zip(session.get_outputs(), outputs, strict=True)
        )
        self._convert = {name: c for name, c in converters if c is not None}
        self.signature = Signature(
            inputs=tuple(_tensor_spec(i, "input", path) for i in session.get_inputs()),
            outputs=outputs,
        )

    def predict(
        self, inputs: Mapping[str, np.ndarray], outputs: Sequence[str]
    ) -> dict[str, np.ndarray]:
        names = list(outputs)
        result = dict(zip(names, self._session.run(names, dict(inputs)), strict=True))
        for name, convert in self._convert.items():
            if name in result:
                result[name] = convert(result[name])
        return result
