"""The XGBoost flavor: outputs by objective, numbers equal to XGBoost's own, missing values kept."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from shipml.errors import ModelError
from shipml.runtime.flavors import detect_flavor, load_predictor
from shipml.runtime.flavors.base import Predictor
from shipml.runtime.signature import TensorSpec
from shipml.spec import ModelSpec, load_spec

RNG = np.random.default_rng(3)


def with_missing(rows: np.ndarray) -> np.ndarray:
    rows = rows.astype(np.float32)
    rows[RNG.random(rows.shape) < 0.1] = np.nan
    return rows


def run(predictor: Predictor, rows: np.ndarray) -> dict[str, np.ndarray]:
    return predictor.predict({"input-0": rows}, predictor.signature.output_names)


def saved(model: xgb.XGBModel, path: Path) -> Predictor:
    model.save_model(path)
    return load_predictor(ModelSpec(path=path.name), path.parent)


@pytest.fixture(scope="module")
def project(example_project: Callable[[str], Path]) -> Path:
    return example_project("xgboost-classifier")


def test_example_equals_xgbclassifier(project: Path) -> None:
    native = xgb.XGBClassifier()
    native.load_model(project / "model.json")
    predictor = load_predictor(load_spec(project).model, project)
    rows = with_missing(RNG.normal(size=(200, 10)))
    got = run(predictor, rows)
    np.testing.assert_array_equal(got["predict_proba"], native.predict_proba(rows))
    np.testing.assert_array_equal(got["predict"], native.predict(rows))
    assert predictor.signature.inputs == (TensorSpec("input-0", "FP32", (-1, 10), allow_nan=True),)
    assert predictor.signature.check_outputs(()) == ("predict",)


def test_multiclass_softprob(tmp_path: Path) -> None:
    x = RNG.normal(size=(300, 4))
    native = xgb.XGBClassifier(n_estimators=5, n_jobs=1).fit(x, np.arange(300) % 3)
    predictor = saved(native, tmp_path / "multi.ubj")
    assert predictor.signature.outputs[1] == TensorSpec("predict_proba", "FP32", (-1, 3))
    rows = with_missing(RNG.normal(size=(50, 4)))
    got = run(predictor, rows)
    np.testing.assert_array_equal(got["predict_proba"], native.predict_proba(rows))
    np.testing.assert_array_equal(got["predict"], native.predict(rows))


def test_multiclass_softmax_gives_the_class(tmp_path: Path) -> None:
    x = RNG.normal(size=(300, 4))
    native = xgb.XGBClassifier(n_estimators=5, n_jobs=1, objective="multi:softmax")
    native.fit(x, np.arange(300) % 3)
    predictor = saved(native, tmp_path / "softmax.json")
    assert predictor.signature.output_names == ("predict",)
    rows = RNG.normal(size=(50, 4)).astype(np.float32)
    np.testing.assert_array_equal(run(predictor, rows)["predict"], native.predict(rows))


@pytest.mark.parametrize("targets", [1, 2])
def test_regression_gives_the_values(tmp_path: Path, targets: int) -> None:
    x = RNG.normal(size=(300, 4))
    y = x[:, :targets] * 2 + 1
    native = xgb.XGBRegressor(n_estimators=5, n_jobs=1).fit(x, y.ravel() if targets == 1 else y)
    predictor = saved(native, tmp_path / "reg.json")
    shape = (-1,) if targets == 1 else (-1, targets)
    assert predictor.signature.outputs == (TensorSpec("predict", "FP32", shape),)
    rows = with_missing(RNG.normal(size=(50, 4)))
    np.testing.assert_array_equal(run(predictor, rows)["predict"], native.predict(rows))


def test_detected_by_content_json_and_ubj(project: Path, tmp_path: Path) -> None:
    assert detect_flavor(project / "model.json") == "xgboost"
    booster = xgb.Booster(model_file=str(project / "model.json"))
    booster.save_model(tmp_path / "model.ubj")
    assert detect_flavor(tmp_path / "model.ubj") == "xgboost"
    (tmp_path / "other.json").write_text('{"weights": [1, 2]}')
    with pytest.raises(ModelError, match="not a model file shipml recognises"):
        detect_flavor(tmp_path / "other.json")


def test_a_corrupt_file_is_a_clear_error(project: Path, tmp_path: Path) -> None:
    text = (project / "model.json").read_text()
    (tmp_path / "model.json").write_text(text[: len(text) // 2])
    with pytest.raises(ModelError, match=r"model\.json: not a readable XGBoost model"):
        load_predictor(ModelSpec(path="model.json"), tmp_path)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"model\.json does not exist"):
        load_predictor(ModelSpec(path="model.json", flavor="xgboost"), tmp_path)
