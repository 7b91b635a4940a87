"""V2 and V1 codecs and the signature check: every bad input is a 4xx naming what was wrong."""

from __future__ import annotations

import numpy as np
import pytest

from shipml.errors import RequestError
from shipml.runtime.protocol import v1, v2
from shipml.runtime.protocol.tensors import loads, to_array
from shipml.runtime.signature import Signature, TensorSpec

SIG = Signature(
    inputs=(TensorSpec("input-0", "FP64", (-1, 3)),),
    outputs=(TensorSpec("predict", "INT64", (-1,)), TensorSpec("predict_proba", "FP64", (-1, 2))),
    default_outputs=("predict",),
)


def tensor(**overrides: object) -> dict[str, object]:
    return {
        "name": "input-0",
        "datatype": "FP64",
        "shape": [2, 3],
        "data": [1, 2, 3, 4, 5, 6],
        **overrides,
    }


def test_flat_and_nested_data_decode_alike() -> None:
    flat = v2.decode_request({"inputs": [tensor()]})
    nested = v2.decode_request({"inputs": [tensor(data=[[1, 2, 3], [4, 5, 6]])]})
    np.testing.assert_array_equal(flat.inputs["input-0"], nested.inputs["input-0"])
    assert flat.inputs["input-0"].dtype == np.float64 and flat.inputs["input-0"].shape == (2, 3)


def test_request_id_outputs_and_parameters() -> None:
    r = v2.decode_request(
        {
            "id": "abc",
            "parameters": {"k": 1},
            "inputs": [tensor()],
            "outputs": [{"name": "predict_proba"}],
        }
    )
    assert r.id == "abc" and r.outputs == ("predict_proba",) and r.parameters == {"k": 1}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "must be a JSON object"),
        ({}, "needs 'inputs'"),
        ({"inputs": [{"datatype": "FP64"}]}, "needs a 'name'"),
        ({"inputs": [tensor(shape=None) | {"shape": None}]}, "'shape' must be an array"),
        ({"inputs": [{"name": "input-0", "shape": [1, 3], "data": [1, 2, 3]}]}, "needs 'datatype'"),
        ({"inputs": [tensor(datatype="FLOAT")]}, "unknown datatype 'FLOAT'"),
        ({"inputs": [tensor(shape=[2, 2])]}, r"shape \[2, 2\] needs 4 values, data has 6"),
        ({"inputs": [tensor(data=["a", "b", "c", "d", "e", "f"])]}, "does not match datatype FP64"),
        ({"inputs": [tensor(data=[[1, 2], [3]])]}, "not a regular"),
        (
            {"inputs": [tensor(datatype="INT32", data=[1.5, 2, 3, 4, 5, 6])]},
            "does not match datatype INT32",
        ),
        ({"inputs": [tensor(), tensor()]}, "appears twice"),
        ({"inputs": [tensor()], "outputs": "predict"}, "'outputs' must be an array"),
        ({"inputs": [tensor()], "id": 5}, "'id' must be a string"),
    ],
)
def test_malformed_v2_requests(doc: object, message: str) -> None:
    with pytest.raises(RequestError, match=message) as e:
        v2.decode_request(doc)
    assert e.value.status == 400


def test_signature_enforces_names_shapes_and_nan() -> None:
    with pytest.raises(RequestError, match="unknown input 'x'"):
        SIG.check_inputs({"x": np.zeros((1, 3))})
    with pytest.raises(RequestError, match="missing input 'input-0'"):
        SIG.check_inputs({})
    with pytest.raises(RequestError, match=r"expected shape \[-1, 3\], got \[1, 4\]"):
        SIG.check_inputs({"input-0": np.zeros((1, 4))})
    with pytest.raises(RequestError, match="3 dimensions instead of 2"):
        SIG.check_inputs({"input-0": np.zeros((1, 3, 1))})
    with pytest.raises(RequestError, match="NaN"):
        SIG.check_inputs({"input-0": np.array([[1.0, np.nan, 2.0]])})
    with pytest.raises(RequestError, match="expected datatype FP64, got BYTES"):
        SIG.check_inputs({"input-0": np.array([["a", "b", "c"]], dtype=object)})
    inputs, rows = SIG.check_inputs({"input-0": np.ones((4, 3), dtype=np.int32)})
    assert rows == 4 and inputs["input-0"].dtype == np.float64  # lossless widening


def test_nan_allowed_when_the_signature_says_so() -> None:
    sig = Signature(inputs=(TensorSpec("input-0", "FP64", (-1, 2), allow_nan=True),))
    x = to_array([None, 1.0], "FP64", [1, 2], what="t")  # JSON null is a missing value
    inputs, _ = sig.check_inputs({"input-0": x})
    assert np.isnan(inputs["input-0"][0, 0])


def test_outputs_default_and_unknown() -> None:
    assert SIG.check_outputs(()) == ("predict",)
    with pytest.raises(RequestError, match="unknown output 'probs'"):
        SIG.check_outputs(["probs"])


def test_v2_response_is_flat_with_datatype_and_shape() -> None:
    doc = v2.encode_response(
        model_name="m",
        model_version="1",
        request_id="r",
        outputs={"predict_proba": np.array([[0.25, 0.75]])},
    )
    out = doc["outputs"][0]
    assert doc["id"] == "r" and out["datatype"] == "FP64" and out["shape"] == [1, 2]
    assert list(out["data"]) == [0.25, 0.75]


def test_v1_instances_and_predictions() -> None:
    inputs = v1.decode_request({"instances": [[1, 2, 3], [4, 5, 6]]}, SIG)
    assert inputs["input-0"].shape == (2, 3)
    doc = v1.encode_response({"predict": np.array([0, 1])})
    assert list(doc["predictions"]) == [0, 1]
    with pytest.raises(RequestError, match="needs 'instances'"):
        v1.decode_request({"rows": []}, SIG)


def test_malformed_json_says_where() -> None:
    with pytest.raises(RequestError, match="not valid JSON"):
        loads(b'{"inputs": [')
