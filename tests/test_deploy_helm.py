"""The Helm chart: its structure; its templates and values give the objects deploy applies."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from kube_schema import validate_strict

from shipml.deploy.helm import chart_files, write_chart
from shipml.deploy.render import render
from shipml.errors import DeployError
from shipml.oci.reference import parse_reference
from shipml.spec import Spec, parse_spec

REF = parse_reference("registry.example.com/team/iris@sha256:" + "cd" * 32)
# The Go template subset the chart uses; anything else in a template fails this test's renderer.
_ACTION = re.compile(r"(\s*)\{\{(-?) (.*?) \}\}")


def make_spec(**over: Any) -> Spec:
    return parse_spec({"name": "iris", "version": "1.2.0", "model": {"path": "m.joblib"}, **over})


def _lookup(values: dict[str, Any], path: str) -> Any:
    node: Any = {"Values": values}
    for part in path.lstrip(".").split("."):
        node = node[part]
    return node


def _evaluate(expr: str, values: dict[str, Any]) -> Any:
    first, *pipes = [p.strip() for p in expr.split("|")]
    if first.startswith("printf "):
        fmt, *args = re.findall(r'"[^"]*"|\S+', first.removeprefix("printf "))
        value: Any = json.loads(fmt).replace("%s", "{}").format(
            *(_lookup(values, a) for a in args))
    elif first.startswith("not "):
        value = not _lookup(values, first.removeprefix("not "))
    else:
        value = _lookup(values, first)
    for fn in pipes:
        value = {"toJson": lambda v: json.dumps(v), "toString": str}[fn](value)
    return value


def helm_template(text: str, values: dict[str, Any]) -> str:
    """Render a template as Helm does, for the actions the chart uses (if/end, values, pipes)."""
    out: list[str] = []
    keep = [True]
    pos = 0
    for m in _ACTION.finditer(text):
        leading, trim, expr = m.groups()
        if keep[-1]:
            out.append(text[pos:m.start()] + ("" if trim else leading))
        pos = m.end()
        if expr.startswith("if "):
            keep.append(keep[-1] and bool(_evaluate(expr.removeprefix("if "), values)))
        elif expr == "end":
            keep.pop()
        elif keep[-1]:
            out.append(str(_evaluate(expr, values)))
    assert keep == [True], "unbalanced if/end"
    return "".join(out) + text[pos:]


def helm_render(files: dict[str, str], values: dict[str, Any]) -> list[dict[str, Any]]:
    docs = [yaml.safe_load(helm_template(text, values))
            for path, text in sorted(files.items()) if path.startswith("templates/")]
    return [d for d in docs if d]


def by_kind(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["kind"]: o for o in objects}


@pytest.mark.parametrize("over", [
    {},
    {"scaling": {"min_replicas": 2, "max_replicas": 2}},
    {"scaling": {"metric": "inflight", "target": 9}, "resources": {"gpu": 1},
     "deploy": {"ingress": {"host": "iris.example.com"}, "image_pull_secret": "regcred"}},
])
def test_default_values_render_the_objects_deploy_applies(over: dict[str, Any]) -> None:
    spec = make_spec(**over)
    files = chart_files(spec, REF)
    objects = helm_render(files, yaml.safe_load(files["values.yaml"]))
    assert by_kind(objects) == by_kind(render(spec, REF))
    for obj in objects:
        validate_strict(obj)


def test_values_cover_image_replicas_resources_and_autoscaling() -> None:
    files = chart_files(make_spec(), REF)
    values = yaml.safe_load(files["values.yaml"])
    assert set(values) == {"image", "replicas", "resources", "autoscaling"}
    values["image"]["digest"] = "sha256:" + "ef" * 32
    values["replicas"] = 5
    values["resources"] = {"limits": {"cpu": "2", "memory": "4Gi"}}
    values["autoscaling"]["enabled"] = False
    kinds = by_kind(helm_render(files, values))
    assert "HorizontalPodAutoscaler" not in kinds
    deployment = kinds["Deployment"]
    validate_strict(deployment)
    assert deployment["spec"]["replicas"] == 5
    server = deployment["spec"]["template"]["spec"]["containers"][0]
    assert server["image"] == "registry.example.com/team/iris@sha256:" + "ef" * 32
    assert server["resources"] == {"limits": {"cpu": "2", "memory": "4Gi"}}

    values["autoscaling"].update(enabled=True, minReplicas=3, maxReplicas=30, target=50)
    kinds = by_kind(helm_render(files, values))
    hpa = kinds["HorizontalPodAutoscaler"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 30)
    assert hpa["metrics"][0]["resource"]["target"]["averageUtilization"] == 50
    assert "replicas" not in kinds["Deployment"]["spec"]


def test_chart_structure(tmp_path: Path) -> None:
    out = write_chart(chart_files(make_spec(), REF), tmp_path / "chart")
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert names == ["Chart.yaml", "templates/deployment.yaml", "templates/hpa.yaml",
                     "templates/pdb.yaml", "templates/service.yaml", "values.yaml"]
    chart = yaml.safe_load((out / "Chart.yaml").read_text())
    assert chart == {"apiVersion": "v2", "name": "iris", "type": "application",
                     "description": "iris model server, generated by shipml",
                     "version": "1.2.0", "appVersion": "1.2.0"}
    assert [p.name for p in tmp_path.iterdir()] == ["chart"]  # no temp dir left behind


def test_existing_directory_needs_force(tmp_path: Path) -> None:
    (tmp_path / "chart").mkdir()
    (tmp_path / "chart" / "old.txt").write_text("x")
    with pytest.raises(DeployError, match="not empty"):
        write_chart(chart_files(make_spec(), REF), tmp_path / "chart")
    write_chart(chart_files(make_spec(), REF), tmp_path / "chart", force=True)
    assert not (tmp_path / "chart" / "old.txt").exists()


def test_chart_needs_a_semver_version_and_a_digest() -> None:
    with pytest.raises(DeployError, match="SemVer"):
        chart_files(make_spec(version="release-7"), REF)
    with pytest.raises(DeployError, match="mutable tag"):
        chart_files(make_spec(), parse_reference("registry.example.com/team/iris:1"))
