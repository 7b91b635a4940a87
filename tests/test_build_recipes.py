"""Layer recipes: what each layer holds, and inputs digests that change exactly with content."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from shipml.build.recipes import code_recipe, model_recipe, runtime_recipe
from shipml.errors import BuildError
from shipml.spec import Spec, load_spec


def _project(root: Path) -> Path:
    (root / "shipml.yaml").write_text("name: m\nmodel:\n  path: models/model.joblib\n")
    (root / "models").mkdir()
    (root / "models" / "model.joblib").write_bytes(b"weights v1")
    (root / "predict_helpers.py").write_text("X = 1\n")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref\n")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"pyc")
    (root / "notes.tmp").write_text("scratch\n")
    (root / ".shipmlignore").write_text("# comment\n*.tmp\n")
    return root


def _paths(spec: Spec, project: Path, which: str) -> set[str]:
    recipe = (code_recipe if which == "code" else model_recipe)(project, spec)
    return {str(e.path) for e in recipe.entries(project)}


def test_model_and_code_layers_split_the_project(tmp_path: Path) -> None:
    project = _project(tmp_path)
    spec = load_spec(project)
    assert _paths(spec, project, "model") == {"srv/shipml/models/model.joblib"}
    code = _paths(spec, project, "code")
    assert {"srv/shipml/shipml.yaml", "srv/shipml/predict_helpers.py"} <= code
    assert not {p for p in code if "model.joblib" in p or ".git" in p or "pycache" in p}
    assert "srv/shipml/notes.tmp" not in code  # .shipmlignore
    assert "srv/shipml/.shipmlignore" not in code


def test_inputs_change_with_content_only(tmp_path: Path) -> None:
    project = _project(tmp_path)
    spec = load_spec(project)
    model, code = model_recipe(project, spec).inputs, code_recipe(project, spec).inputs
    (project / "models" / "model.joblib").touch()  # a new mtime alone changes nothing
    assert model_recipe(project, spec).inputs == model
    (project / "models" / "model.joblib").write_bytes(b"weights v2")
    assert model_recipe(project, spec).inputs != model
    assert code_recipe(project, spec).inputs == code  # the model is not the code layer's input


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    project = _project(tmp_path)
    (project / "models" / "model.joblib").unlink()
    with pytest.raises(BuildError, match=r"model file .*models/model\.joblib does not exist"):
        model_recipe(project, load_spec(project))


def test_runtime_layer_carries_the_server_only() -> None:
    paths = {PurePosixPath(str(e.path)) for e in runtime_recipe().entries(Path())}
    site = PurePosixPath("opt/shipml/site/shipml")
    names = {str(p.relative_to(site)) for p in paths}
    assert {"__init__.py", "errors.py", "spec.py", "runtime/__main__.py",
            "runtime/requirements.txt"} <= names
    assert not [n for n in names if n.split("/")[0] in {"cli", "build", "registry", "deploy",
                                                        "layers", "oci", "engines"}]
    assert not [n for n in names if n.endswith(".pyc")]
