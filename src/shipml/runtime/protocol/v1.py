"""KServe V1 REST (TF Serving style): {"instances": [...]} in, {"predictions": [...]} out."""

from __future__ import annotations

from typing import Any

import numpy as np

from shipml.errors import RequestError
from shipml.runtime.protocol.tensors import to_array, to_json_nested
from shipml.runtime.signature import Signature


def decode_request(doc: Any, signature: Signature) -> dict[str, np.ndarray]:
    """Rows of a single-input model, or one object per row keyed by input name."""
    if not isinstance(doc, dict):
        raise RequestError("the request must be a JSON object with 'instances'")
    instances = doc.get("instances", doc.get("inputs"))
    if not isinstance(instances, list) or not instances:
        raise RequestError("the request needs 'instances': a non-empty array, one item per row")
    if len(signature.inputs) == 1:
        spec = signature.inputs[0]
        if all(isinstance(row, dict) for row in instances):
            instances = [_field(row, spec.name, i) for i, row in enumerate(instances)]
        return {spec.name: to_array(instances, spec.datatype, None, what="instances")}
    if not all(isinstance(row, dict) for row in instances):
        names = [t.name for t in signature.inputs]
        raise RequestError(
            f"this model takes several inputs: each instance must be an object with {names}"
        )
    return {
        spec.name: to_array(
            [_field(row, spec.name, i) for i, row in enumerate(instances)],
            spec.datatype,
            None,
            what=f"instances[*].{spec.name}",
        )
        for spec in signature.inputs
    }


def _field(row: dict[str, Any], name: str, index: int) -> Any:
    if name not in row:
        raise RequestError(f"instances[{index}] has no {name!r}")
    return row[name]


def encode_response(outputs: dict[str, np.ndarray]) -> dict[str, Any]:
    """The first output as predictions; several outputs give one object per row."""
    if len(outputs) == 1:
        return {"predictions": to_json_nested(next(iter(outputs.values())))}
    columns = {name: _plain(to_json_nested(value)) for name, value in outputs.items()}
    rows = len(next(iter(columns.values())))
    return {"predictions": [{name: col[i] for name, col in columns.items()} for i in range(rows)]}


def _plain(value: Any) -> list[Any]:
    """Nested Python lists of plain numbers and strings (numpy scalars are not JSON)."""
    return value.tolist() if isinstance(value, np.ndarray) else list(value)
