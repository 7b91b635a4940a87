"""The custom flavor: a user's setup()/predict() class, the declared signature, clear errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from textwrap import dedent

import numpy as np
import pytest

from shipml.errors import ModelError
from shipml.runtime.flavors import load_predictor
from shipml.runtime.flavors.base import Predictor
from shipml.spec import ModelSpec, load_spec

ONE_INPUT = {"inputs": [{"name": "x", "datatype": "FP64", "shape": [-1, 2]}]}


def project_with(tmp_path: Path, code: str, *, file: str = "predict.py") -> Path:
    (tmp_path / file).write_text(dedent(code))
    return tmp_path


def load(
    project: Path, signature: object = ONE_INPUT, predictor: str = "predict.py:P"
) -> Predictor:
    model = ModelSpec.model_validate({"path": ".", "predictor": predictor, "signature": signature})
    return load_predictor(model, project)


@pytest.fixture(scope="module")
def project(example_project: Callable[[str], Path]) -> Path:
    return example_project("custom-ridge")


def test_example_equals_its_weights(project: Path) -> None:
    predictor = load_predictor(load_spec(project).model, project)
    rows = np.random.default_rng(0).normal(size=(64, 5))
    got = predictor.predict({"input-0": rows}, predictor.signature.check_outputs(()))
    with np.load(project / "weights.npz") as w:
        expected = (rows - w["mean"]) / w["scale"] @ w["coef"] + float(w["intercept"])
    np.testing.assert_array_equal(got["predict"], expected)
    assert [t.name for t in predictor.signature.inputs] == ["input-0"]


def test_setup_without_a_path_and_a_bare_array(tmp_path: Path) -> None:
    project_with(tmp_path, """
        import numpy as np
        class P:
            def setup(self):
                self.k = 3.0
            def predict(self, inputs):
                return inputs["x"].sum(axis=1) * self.k
    """)
    declared = {**ONE_INPUT, "outputs": [{"name": "total", "datatype": "FP32", "shape": [-1]}]}
    predictor = load(tmp_path, declared)
    got = predictor.predict({"x": np.array([[1.0, 2.0], [3.0, 4.0]])}, ["total"])
    np.testing.assert_array_equal(got["total"], np.array([9.0, 21.0], np.float32))
    assert got["total"].dtype == np.float32  # the declared datatype


def test_undeclared_outputs_are_all_returned(tmp_path: Path) -> None:
    project_with(tmp_path, """
        class P:
            def predict(self, inputs):
                return inputs["x"][:, 0]
    """)
    predictor = load(tmp_path)
    assert predictor.signature.output_names == ()
    got = predictor.predict({"x": np.ones((2, 2))}, predictor.signature.check_outputs(()))
    assert list(got) == ["output-0"]


def test_the_file_can_import_its_neighbours(tmp_path: Path) -> None:
    (tmp_path / "helpers_for_custom_test.py").write_text("OFFSET = 10\n")
    project_with(tmp_path, """
        from helpers_for_custom_test import OFFSET
        class P:
            def predict(self, inputs):
                return {"y": inputs["x"][:, 0] + OFFSET}
    """)
    assert load(tmp_path).predict({"x": np.zeros((1, 2))}, ())["y"].tolist() == [10.0]


def test_a_missing_signature_names_the_field(tmp_path: Path) -> None:
    project_with(tmp_path, "class P:\n    def predict(self, inputs): ...\n")
    with pytest.raises(ModelError, match=r"must declare 'model\.signature'"):
        load(tmp_path, signature=None)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"predictor file .*nope\.py does not exist"):
        load(tmp_path, predictor="nope.py:P")


def test_a_missing_class_names_file_and_class(tmp_path: Path) -> None:
    project_with(tmp_path, "class Other:\n    pass\n")
    expected = r"predict\.py: no class 'P' \(classes defined there: \['Other'\]\)"
    with pytest.raises(ModelError, match=expected):
        load(tmp_path)


def test_a_class_without_predict_is_named(tmp_path: Path) -> None:
    project_with(tmp_path, "class P:\n    pass\n")
    with pytest.raises(ModelError, match=r"class P has no predict\(self, inputs\) method"):
        load(tmp_path)


def test_an_import_failure_names_the_file(tmp_path: Path) -> None:
    project_with(tmp_path, "raise RuntimeError('boom')\n")
    with pytest.raises(ModelError, match=r"predict\.py: importing it failed: RuntimeError: boom"):
        load(tmp_path)


def test_a_missing_package_says_to_add_it(tmp_path: Path) -> None:
    project_with(tmp_path, "import no_such_package_for_shipml\n")
    with pytest.raises(ModelError, match=r"(?s)'no_such_package_for_shipml'.*add it to 'req"):
        load(tmp_path)


def test_a_failing_setup_is_reported(tmp_path: Path) -> None:
    project_with(tmp_path, """
        class P:
            def setup(self, model_path):
                open(model_path / "weights.bin")
            def predict(self, inputs): ...
    """)
    with pytest.raises(ModelError, match="setting up P failed: FileNotFoundError"):
        load(tmp_path)


def test_a_missing_model_path_is_named(tmp_path: Path) -> None:
    project_with(tmp_path, "class P:\n    def predict(self, inputs): ...\n")
    model = ModelSpec.model_validate(
        {"path": "weights.npz", "predictor": "predict.py:P", "signature": ONE_INPUT}
    )
    with pytest.raises(ModelError, match=r"model\.path .*weights\.npz does not exist"):
        load_predictor(model, tmp_path)


def test_wrong_rows_or_names_from_predict_are_model_errors(tmp_path: Path) -> None:
    project_with(tmp_path, """
        class P:
            def predict(self, inputs):
                return {"y": inputs["x"][:1, 0]}
    """)
    predictor = load(tmp_path)
    with pytest.raises(ModelError, match=r"output 'y' has shape \[1\]; expected one row per input"):
        predictor.predict({"x": np.zeros((3, 2))}, ())
    with pytest.raises(ModelError, match=r"predict\(\) returned \['y'\], not 'z'"):
        predictor.predict({"x": np.zeros((1, 2))}, ["z"])
