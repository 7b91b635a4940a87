"""Your own Python class as the model, named by ``model.predictor: file.py:ClassName``.

The contract, as in Cog and Truss, is two methods::

    class Predictor:
        def setup(self, model_path: pathlib.Path) -> None:  # optional; may also be setup(self)
            self.weights = numpy.load(model_path)

        def predict(self, inputs: dict[str, numpy.ndarray]) -> numpy.ndarray | dict[str, ...]:
            return inputs["input-0"] @ self.weights["coef"]

- ``file.py`` is relative to the project directory, which is put on ``sys.path`` so the file
  can import its neighbours. The class is built with no arguments, then ``setup()`` runs once
  before the server is ready; if it takes a parameter it gets the absolute ``model.path``, a
  weights file or directory (``.`` for the project directory itself).
- ``predict()`` gets a batch: the rows of concurrent requests on axis 0 of every input, in the
  datatypes of ``model.signature``, which shipml.yaml must declare (the server enforces it on
  each request). It returns one array, for the single declared output (``output-0`` when no
  outputs are declared), or a dict of output name to array; each has one row per input row.
- It is called from one thread at a time; exceptions it raises fail that batch's requests.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shipml.errors import ModelError
from shipml.runtime.signature import Signature, from_decl
from shipml.spec import ModelSpec

DEFAULT_OUTPUT = "output-0"  # the Open Inference Protocol's usual name for an unnamed output


def recognises(path: Path) -> bool:
    """Never: custom code is chosen with ``model.predictor``, not detected from a file."""
    return False


def load(path: Path, model: ModelSpec, project: Path) -> CustomPredictor:
    """Import the class, build it, run its setup() with the model path."""
    if model.predictor is None:
        raise ModelError("flavor 'custom' needs 'model.predictor: file.py:ClassName'")
    if model.signature is None:
        raise ModelError(
            f"custom predictor {model.predictor}: shipml.yaml must declare 'model.signature'",
            hint="list its inputs (name, datatype, shape) under model.signature.inputs",
        )
    file_name, class_name = model.predictor.rsplit(":", 1)
    cls = _import_class(project, file_name, class_name)
    where = f"{model.predictor} ({project / file_name})"
    if not callable(getattr(cls, "predict", None)):
        raise ModelError(f"{where}: class {class_name} has no predict(self, inputs) method")
    if not path.exists():
        raise ModelError(
            f"model.path {path} does not exist",
            hint="point it at the weights file or directory setup() loads, or '.'",
        )
    try:
        instance = cls()
        setup = getattr(instance, "setup", None)
        if setup is not None and inspect.signature(setup).parameters:
            setup(path.resolve())
        elif setup is not None:
            setup()
    except Exception as e:
        raise ModelError(f"{where}: setting up {class_name} failed: {type(e).__name__}: {e}") from e
    return CustomPredictor(instance, from_decl(model.signature), where)


def _import_class(project: Path, file_name: str, class_name: str) -> type:
    """The class from a Python file of the project, importing the file as a fresh module."""
    file = project / file_name
    if not file.is_file():
        raise ModelError(f"predictor file {file} does not exist (model.predictor in shipml.yaml)")
    if str(project) not in sys.path:
        sys.path.insert(0, str(project))
    module_name = f"shipml_predictor_{file.stem}"
    spec = importlib.util.spec_from_file_location(module_name, file)
    assert spec is not None and spec.loader is not None  # a .py file always has a source loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickle look classes up there
    try:
        spec.loader.exec_module(module)
    except ModuleNotFoundError as e:
        raise ModelError(
            f"{file}: needs the Python package {e.name!r}, which is not installed",
            hint="add it to 'requirements' in shipml.yaml",
        ) from e
    except Exception as e:
        raise ModelError(f"{file}: importing it failed: {type(e).__name__}: {e}") from e
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        found = sorted(
            n for n, v in vars(module).items() if isinstance(v, type) and v.__module__ == spec.name
        )
        raise ModelError(f"{file}: no class {class_name!r} (classes defined there: {found})")
    return cls


class CustomPredictor:
    """A user's class behind the Predictor interface, with the signature shipml.yaml declares."""

    def __init__(self, instance: Any, signature: Signature, where: str) -> None:
        self._predict = instance.predict
        self._where = where
        self.signature = signature
        self._dtypes = {t.name: t.dtype for t in signature.outputs}
        self._single = signature.outputs[0].name if len(signature.outputs) == 1 else DEFAULT_OUTPUT

    def predict(
        self, inputs: Mapping[str, np.ndarray], outputs: Sequence[str]
    ) -> dict[str, np.ndarray]:
        result = self._predict(inputs)
        if not isinstance(result, Mapping):
            result = {self._single: result}
        rows = next(iter(inputs.values())).shape[0]
        return {name: self._tensor(result, name, rows) for name in outputs or result}

    def _tensor(self, result: Mapping[str, Any], name: str, rows: int) -> np.ndarray:
        """One returned output as an array in its declared datatype, checked for its row count."""
        if name not in result:
            raise ModelError(f"{self._where}: predict() returned {list(result)}, not {name!r}")
        try:
            array = np.asarray(result[name], dtype=self._dtypes.get(name))
        except (TypeError, ValueError) as e:
            raise ModelError(f"{self._where}: predict() output {name!r}: {e}") from e
        if array.ndim == 0 or array.shape[0] != rows:
            raise ModelError(
                f"{self._where}: predict() output {name!r} has shape {list(array.shape)}; "
                f"expected one row per input row ({rows})"
            )
        return array
