"""The ONNX flavor: signatures read from the graph, numbers equal to onnxruntime's own."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from shipml.errors import ModelError
from shipml.runtime.flavors import detect_flavor, load_predictor
from shipml.runtime.signature import TensorSpec
from shipml.spec import ModelSpec, load_spec


def session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def save(model: onnx.ModelProto, path: Path) -> Path:
    path.write_bytes(model.SerializeToString())
    return path


def graph_model(
    nodes: list[onnx.NodeProto],
    inputs: list[onnx.ValueInfoProto],
    outputs: list[onnx.ValueInfoProto],
) -> onnx.ModelProto:
    model = helper.make_model(
        helper.make_graph(nodes, "g", inputs, outputs), opset_imports=[helper.make_opsetid("", 17)]
    )
    model.ir_version = 8  # what onnxruntime of any supported version reads
    return model


@pytest.fixture(scope="module")
def project(example_project: Callable[[str], Path]) -> Path:
    return example_project("onnx-classifier")


def test_example_equals_onnxruntime(project: Path) -> None:
    predictor = load_predictor(load_spec(project).model, project)
    rows = np.random.default_rng(1).normal(size=(64, 8)).astype(np.float32)
    got = predictor.predict({"features": rows}, predictor.signature.check_outputs(()))
    label, proba = session(project / "model.onnx").run(None, {"features": rows})
    assert set(got) == {"label", "probabilities"}
    np.testing.assert_array_equal(got["label"], label)
    np.testing.assert_array_equal(got["probabilities"], proba)
    assert got["probabilities"].shape == (64, 2)
    assert type(got["label"][0]) is np.int64  # not onnxruntime's longlong, which orjson refuses


def test_signature_comes_from_the_graph(project: Path) -> None:
    sig = load_predictor(load_spec(project).model, project).signature
    assert sig.inputs == (TensorSpec("features", "FP32", (-1, 8)),)
    assert sig.outputs == (
        TensorSpec("label", "INT64", (-1,)),
        TensorSpec("probabilities", "FP32", (-1, 2)),
    )
    assert sig.check_outputs(()) == ("label", "probabilities")  # all graph outputs by default


def test_only_requested_outputs_are_computed(project: Path) -> None:
    predictor = load_predictor(load_spec(project).model, project)
    got = predictor.predict({"features": np.zeros((3, 8), np.float32)}, ["probabilities"])
    assert list(got) == ["probabilities"]


def test_detected_by_suffix_and_by_content(project: Path, tmp_path: Path) -> None:
    assert detect_flavor(project / "model.onnx") == "onnx"
    renamed = tmp_path / "model.bin"
    renamed.write_bytes((project / "model.onnx").read_bytes())
    assert detect_flavor(renamed) == "onnx"


def test_symbolic_dimensions_become_variable(tmp_path: Path) -> None:
    x = helper.make_tensor_value_info("x", TensorProto.DOUBLE, ["batch", 3])
    y = helper.make_tensor_value_info("y", TensorProto.DOUBLE, ["batch", 3])
    save(graph_model([helper.make_node("Identity", ["x"], ["y"])], [x], [y]), tmp_path / "m")
    predictor = load_predictor(ModelSpec(path="m", flavor="onnx"), tmp_path)
    assert predictor.signature.inputs == (TensorSpec("x", "FP64", (-1, 3)),)
    rows = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(predictor.predict({"x": rows}, ["y"])["y"], rows)


def test_probability_maps_become_a_tensor(tmp_path: Path) -> None:
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 4))
    fitted = LogisticRegression().fit(x, x[:, 0] > 0)
    converted = to_onnx(fitted, initial_types=[("x", FloatTensorType([None, 4]))])
    path = save(converted, tmp_path / "z.onnx")
    predictor = load_predictor(ModelSpec(path="z.onnx"), tmp_path)
    maps = next(o for o in predictor.signature.outputs if o.name == "output_probability")
    assert (maps.datatype, maps.shape) == ("FP32", (-1, -1))
    rows = rng.normal(size=(5, 4)).astype(np.float32)
    got = predictor.predict({"x": rows}, ["output_probability"])["output_probability"]
    native = session(path).run(["output_probability"], {"x": rows})[0]
    np.testing.assert_array_equal(got, np.array([[m[0], m[1]] for m in native], np.float32))


def test_an_output_that_is_no_tensor_is_a_clear_error(tmp_path: Path) -> None:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])
    seq = helper.make_tensor_sequence_value_info("parts", TensorProto.FLOAT, None)
    node = helper.make_node("SequenceConstruct", ["x"], ["parts"])
    save(graph_model([node], [x], [seq]), tmp_path / "seq.onnx")
    with pytest.raises(ModelError, match=r"'parts' is a seq\(tensor\(float\)\), not a tensor"):
        load_predictor(ModelSpec(path="seq.onnx"), tmp_path)


def test_a_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "bad.onnx").write_bytes(b"not a protobuf at all")
    with pytest.raises(ModelError, match=r"bad\.onnx: not a loadable ONNX model"):
        load_predictor(ModelSpec(path="bad.onnx"), tmp_path)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"gone\.onnx does not exist"):
        load_predictor(ModelSpec(path="gone.onnx", flavor="onnx"), tmp_path)


def test_a_missing_framework_says_to_add_it(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if it were not installed
    with pytest.raises(ModelError, match=r"(?s)module 'onnxruntime'.*to 'requirements'"):
        load_predictor(load_spec(project).model, project)


def test_omp_num_threads_caps_the_session(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    predictor = load_predictor(load_spec(project).model, project)
    assert predictor._session.get_session_options().intra_op_num_threads == 1  # type: ignore[attr-defined]
