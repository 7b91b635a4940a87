"""Train a scikit-learn pipeline (fixed seed) and export it to ONNX as model.onnx.

Usage: python train.py [OUTPUT_DIR]   (default: this directory)
Needs scikit-learn and skl2onnx to train; serving needs only onnxruntime.
"""

import sys
from pathlib import Path

from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

N_FEATURES = 8


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
    out.mkdir(parents=True, exist_ok=True)
    X, y = make_classification(n_samples=2000, n_features=N_FEATURES, random_state=0)
    model = make_pipeline(StandardScaler(), LogisticRegression(random_state=0)).fit(X, y)
    # zipmap=False: probabilities as one [rows, classes] tensor, not a list of {class: p} maps.
    onnx_model = to_onnx(
        model,
        initial_types=[("features", FloatTensorType([None, N_FEATURES]))],
        options={"zipmap": False},
    )
    (out / "model.onnx").write_bytes(onnx_model.SerializeToString())
    print(f"trained: accuracy {model.score(X, y):.4f}, wrote {out / 'model.onnx'}")


if __name__ == "__main__":
    main()
