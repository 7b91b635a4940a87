"""Train a LightGBM classifier of 3 classes (fixed seed) and save it as model.txt.

Usage: python train.py [OUTPUT_DIR]   (default: this directory)
"""

import sys
from pathlib import Path

from lightgbm import LGBMClassifier
from sklearn.datasets import make_classification


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
    out.mkdir(parents=True, exist_ok=True)
    X, y = make_classification(
        n_samples=5000, n_features=10, n_informative=5, n_classes=3, random_state=0
    )
    model = LGBMClassifier(
        n_estimators=50, num_leaves=15, random_state=0, deterministic=True, force_row_wise=True,
        n_jobs=1, verbose=-1,
    ).fit(X, y)
    model.booster_.save_model(out / "model.txt")
    print(f"trained: accuracy {model.score(X, y):.4f}, wrote {out / 'model.txt'}")


if __name__ == "__main__":
    main()
