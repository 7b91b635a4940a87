"""The one interface every flavor implements: load once, then predict on batches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from shipml.runtime.signature import Signature
from shipml.spec import ModelSpec

INPUT_NAME = "input-0"  # MLServer's and KServe's name for a model's single tensor input


class Predictor(Protocol):
    """A loaded model. ``predict`` gets every input with the batch on axis 0 and returns the
    requested outputs with one row per input row on axis 0."""

    @property
    def signature(self) -> Signature: ...

    def predict(
        self, inputs: Mapping[str, np.ndarray], outputs: Sequence[str]
    ) -> dict[str, np.ndarray]: ...


class Flavor(Protocol):
    """A flavor module: recognises its model files and loads them into a Predictor."""

    def recognises(self, path: Path) -> bool: ...

    def load(self, path: Path, model: ModelSpec, project: Path) -> Predictor: ...
