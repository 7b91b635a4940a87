"""Each flavor's example served by a real server process: V2 answers equal in-process ones."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from shipml.runtime.flavors import load_predictor
from shipml.runtime.signature import Signature
from shipml.spec import load_spec
from shipml.testing.server import ServerProcess

EXAMPLES = ("onnx-classifier", "xgboost-classifier", "lightgbm-classifier", "custom-ridge")


def request_inputs(doc: dict[str, Any], signature: Signature) -> dict[str, np.ndarray]:
    """The request's tensors as the server hands them to the model (null = NaN)."""
    dtypes = {t.name: t.dtype for t in signature.inputs}
    return {
        t["name"]: np.array(t["data"], np.float64).reshape(t["shape"]).astype(dtypes[t["name"]])
        for t in doc["inputs"]
    }


def random_request(signature: Signature, rows: int) -> dict[str, Any]:
    rng = np.random.default_rng(11)
    tensors = []
    for t in signature.inputs:
        shape = [rows, *t.shape[1:]]
        data = rng.normal(size=shape).astype(t.dtype)
        tensors.append({"name": t.name, "datatype": t.datatype, "shape": shape,
                        "data": data.ravel().tolist()})
    return {"inputs": tensors}


@pytest.mark.parametrize("name", EXAMPLES)
def test_served_answers_equal_in_process(
    name: str,
    example_project: Callable[[str], Path],
    serve_project: Callable[..., AbstractContextManager[ServerProcess]],
) -> None:
    project = example_project(name)
    predictor = load_predictor(load_spec(project).model, project)
    signature = predictor.signature
    example = json.loads((project / "request.json").read_text())
    with serve_project(project) as server:
        meta = httpx.get(f"{server.url}/v2/models/{name}").json()
        assert meta["inputs"] == signature.to_json()["inputs"]
        assert meta["outputs"] == signature.to_json()["outputs"]
        for doc in (example, random_request(signature, 32)):
            response = httpx.post(f"{server.url}/v2/models/{name}/infer", json=doc, timeout=30)
            assert response.status_code == 200, response.text
            requested = signature.check_outputs(o["name"] for o in doc.get("outputs", []))
            expected = predictor.predict(request_inputs(doc, signature), requested)
            answered = {o["name"]: o for o in response.json()["outputs"]}
            assert list(answered) == list(requested)
            for output, want in expected.items():
                got = answered[output]
                assert got["shape"] == list(want.shape)
                values = np.array(got["data"], dtype=want.dtype).reshape(got["shape"])
                np.testing.assert_array_equal(values, want, err_msg=f"{name}: {output}")
        rows = np.random.default_rng(12).normal(size=(5, signature.inputs[0].shape[1]))
        v1 = httpx.post(f"{server.url}/v1/models/{name}:predict", json={"instances": rows.tolist()})
        assert v1.status_code == 200, v1.text
        assert_v1_equal(v1.json()["predictions"], predictor.predict(
            request_inputs({"inputs": [{"name": signature.inputs[0].name, "shape": [5, -1],
                                        "data": rows.tolist()}]}, signature),
            signature.check_outputs(()),
        ))


def assert_v1_equal(predictions: list[Any], expected: dict[str, np.ndarray]) -> None:
    """V1 gives the only output's rows, or one object per row when there are several."""
    for output, want in expected.items():
        got = predictions if len(expected) == 1 else [row[output] for row in predictions]
        np.testing.assert_array_equal(np.array(got, dtype=want.dtype), want, err_msg=output)
