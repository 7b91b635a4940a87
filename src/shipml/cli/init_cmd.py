"""`shipml init MODEL_FILE`: write a shipml.yaml for a model file shipml recognises."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import click

from shipml.cli.console import out_console
from shipml.errors import SpecError
from shipml.spec import SPEC_FILENAME, ModelSpec, Spec, dump_spec

# What each flavor needs at serving time: (requirement name, distribution installed here whose
# version it is pinned to). xgboost-cpu is XGBoost without the ~200 MB of NVIDIA NCCL libraries.
FLAVOR_PACKAGES: dict[str, tuple[tuple[str, str], ...]] = {
    "sklearn": (("scikit-learn", "scikit-learn"), ("joblib", "joblib")),
    "onnx": (("onnxruntime", "onnxruntime"),),
    "xgboost": (("xgboost-cpu", "xgboost"),),
    "lightgbm": (("lightgbm", "lightgbm"),),
}


def _pinned(requirement: str, installed: str) -> str:
    try:
        return f"{requirement}=={metadata.version(installed)}"
    except metadata.PackageNotFoundError:
        return requirement


def _dns_name(text: str) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:63].strip("-")
    return name or "model"


def spec_for(model_file: Path, *, name: str | None = None) -> Spec:
    """A starting spec for a model file: its flavor, a name, and pinned requirements."""
    from shipml.runtime.flavors import detect_flavor  # numpy: only for init, not every verb

    flavor = detect_flavor(model_file)
    project = model_file.parent
    return Spec(
        name=name or _dns_name(project.resolve().name),
        model=ModelSpec(path=model_file.name, flavor=flavor),  # type: ignore[arg-type]
        requirements=[_pinned(r, d) for r, d in FLAVOR_PACKAGES.get(flavor, ())],
    )


@click.command("init")
@click.argument("model_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", help="Model name (default: the directory's).")
@click.option("--force", is_flag=True, help="Overwrite an existing shipml.yaml.")
def init(model_file: Path, name: str | None, force: bool) -> None:
    """Write shipml.yaml beside MODEL_FILE (e.g. model.joblib); prints the spec's path."""
    target = model_file.parent / SPEC_FILENAME
    if target.exists() and not force:
        raise SpecError(f"{target} already exists", hint="pass --force to overwrite it")
    target.write_text(dump_spec(spec_for(model_file, name=name)), encoding="utf-8")
    out_console.print(str(target))

