"""Open Inference Protocol (KServe V2) REST: inference request decoding, response encoding."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shipml.errors import RequestError
from shipml.runtime.protocol.tensors import to_array, to_json_data
from shipml.runtime.signature import v2_datatype


@dataclass(frozen=True)
class InferRequest:
    """A decoded V2 inference request."""

    inputs: dict[str, np.ndarray]
    outputs: tuple[str, ...] = ()
    id: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RequestError(f"{what} must be a JSON object, got {_json_type(value)}")
    return value


def _json_type(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def decode_request(doc: Any) -> InferRequest:
    """Validate the request document and turn its tensors into arrays (shape applied)."""
    doc = _mapping(doc, "the request")
    raw_inputs = doc.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise RequestError("the request needs 'inputs': a non-empty array of tensors")
    inputs: dict[str, np.ndarray] = {}
    for i, raw in enumerate(raw_inputs):
        tensor = _mapping(raw, f"inputs[{i}]")
        name = tensor.get("name")
        if not isinstance(name, str) or not name:
            raise RequestError(f"inputs[{i}] needs a 'name' (string)")
        what = f"input {name!r}"
        for key in ("datatype", "shape", "data"):
            if key not in tensor:
                raise RequestError(f"{what} needs '{key}'")
        if not isinstance(tensor["datatype"], str):
            raise RequestError(f"{what}: 'datatype' must be a string such as \"FP32\"")
        if not isinstance(tensor["shape"], list):
            raise RequestError(f"{what}: 'shape' must be an array of integers")
        if name in inputs:
            raise RequestError(f"{what} appears twice")
        inputs[name] = to_array(tensor["data"], tensor["datatype"], tensor["shape"], what=what)
    outputs: list[str] = []
    raw_outputs = doc.get("outputs", [])
    if not isinstance(raw_outputs, list):
        raise RequestError("'outputs' must be an array of {\"name\": ...} objects")
    for i, raw in enumerate(raw_outputs):
        name = _mapping(raw, f"outputs[{i}]").get("name")
        if not isinstance(name, str):
            raise RequestError(f"outputs[{i}] needs a 'name' (string)")
        outputs.append(name)
    request_id = doc.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise RequestError("'id' must be a string")
    parameters = _mapping(doc.get("parameters", {}), "'parameters'")
    return InferRequest(inputs, tuple(outputs), request_id, parameters)


def encode_response(
    *, model_name: str, model_version: str, request_id: str | None, outputs: dict[str, np.ndarray]
) -> dict[str, Any]:
    """The response document; tensor data is flat, in row-major order."""
    doc: dict[str, Any] = {"model_name": model_name, "model_version": model_version}
    if request_id is not None:
        doc["id"] = request_id
    doc["outputs"] = [
        {
            "name": name,
            "datatype": v2_datatype(value.dtype),
            "shape": list(value.shape),
            "data": to_json_data(value),
        }
        for name, value in outputs.items()
    ]
    return doc
