"""The deploy verbs as a user runs them: real processes, a real registry, a real kubeconfig."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import yaml
from kube_schema import validate_strict

from shipml.deploy.render import render
from shipml.oci.reference import parse_reference
from shipml.registry.client import RegistryClient
from shipml.registry.credentials import Credential
from shipml.registry.push import push
from shipml.spec import load_spec
from shipml.testing.cli import run_cli
from shipml.testing.images import random_image
from shipml.testing.registry import LocalRegistry, local_registry, registry_available
from shipml.testing.server import free_port

DIGEST = "sha256:" + "ab" * 32


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "shipml.yaml").write_text(
        "name: iris\nversion: 1.2.0\nmodel: {path: model.joblib}\n"
        "scaling: {min_replicas: 2, max_replicas: 6}\n")
    return tmp_path


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """No kubeconfig and no registry credentials unless a test writes them."""
    home = tmp_path / "home"
    home.mkdir()
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
            "REGISTRY_AUTH_FILE": str(home / "auth.json")}


shipml = partial(run_cli, timeout=120)


def test_dry_run_prints_the_rendered_objects(project: Path, env: dict[str, str]) -> None:
    ref = f"registry.example.com/team/iris@{DIGEST}"
    done = shipml("deploy", ref, "--project", str(project), "--dry-run", "-n", "ml", env=env)
    assert done.returncode == 0, done.stderr
    objects = list(yaml.safe_load_all(done.stdout))
    assert objects == render(load_spec(project), parse_reference(ref), namespace="ml")
    for obj in objects:
        validate_strict(obj)

    as_json = shipml("deploy", ref, "--project", str(project), "--dry-run", "-o", "json", env=env)
    assert [o["kind"] for o in json.loads(as_json.stdout)["items"]] == [
        "Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"]


def test_other_targets(project: Path, env: dict[str, str], tmp_path: Path) -> None:
    ref = f"registry.example.com/team/iris@{DIGEST}"
    for target, kind in (("kserve", "InferenceService"), ("knative", "Service")):
        done = shipml("deploy", ref, "--project", str(project), "-o", target, "--dry-run",
                      env=env)
        assert done.returncode == 0, done.stderr
        assert yaml.safe_load(done.stdout)["kind"] == kind
    chart = tmp_path / "chart"
    done = shipml("deploy", ref, str(chart), "--project", str(project), "-o", "helm", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(chart)
    assert (chart / "Chart.yaml").is_file() and (chart / "templates" / "hpa.yaml").is_file()
    no_dir = shipml("deploy", ref, "--project", str(project), "-o", "helm", env=env)
    assert no_dir.returncode == 8 and "chart directory" in no_dir.stderr


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[LocalRegistry]:
    if not registry_available():
        pytest.skip("docker-registry is not installed")
    with local_registry(tmp_path / "registry", users={"bot": "s3cret"}) as running:
        yield running


@pytest.mark.registry
def test_a_tag_is_resolved_and_credentials_become_a_pull_secret(
    project: Path, env: dict[str, str], registry: LocalRegistry, tmp_path: Path
) -> None:
    image = random_image(tmp_path / "blobs", layers=1)
    with RegistryClient(registry.host, credential=Credential("bot", "s3cret")) as client:
        push(client, "team/iris", image, tag="1.0")
    Path(env["REGISTRY_AUTH_FILE"]).write_text(json.dumps({"auths": {registry.host: {
        "auth": "Ym90OnMzY3JldA=="}}}))  # bot:s3cret

    done = shipml("deploy", f"{registry.host}/team/iris:1.0", "--project", str(project),
                  "--dry-run", env=env)
    assert done.returncode == 0, done.stderr
    assert f"resolved {registry.host}/team/iris:1.0 to {image.digest()}" in done.stderr
    kinds = {o["kind"]: o for o in yaml.safe_load_all(done.stdout)}
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == f"{registry.host}/team/iris@{image.digest()}"
    assert pod["imagePullSecrets"] == [{"name": "iris-pull"}]
    assert kinds["Secret"]["type"] == "kubernetes.io/dockerconfigjson"

    missing = shipml("deploy", f"{registry.host}/team/iris:2.0", "--project", str(project),
                     "--dry-run", env=env)
    assert missing.returncode == 8 and "not in its registry" in missing.stderr


def test_cluster_verbs_without_a_kubeconfig(project: Path, env: dict[str, str]) -> None:
    for args in (("deploy", f"r.example.com/iris@{DIGEST}", "--project", str(project)),
                 ("status", "iris"), ("rollback", "iris"), ("delete", "iris")):
        done = shipml(*args, env=env)
        assert done.returncode == 8, done.stderr
        assert "no Kubernetes configuration found" in done.stderr


def test_unreachable_cluster_is_a_clear_error(env: dict[str, str], tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "dev",
        "clusters": [{"name": "dev", "cluster": {"server": f"http://127.0.0.1:{free_port()}"}}],
        "users": [{"name": "me", "user": {"token": "t"}}],
        "contexts": [{"name": "dev", "context": {"cluster": "dev", "user": "me",
                                                 "namespace": "models"}}]}))
    done = shipml("status", "iris", env={**env, "KUBECONFIG": str(kubeconfig)})
    assert done.returncode == 8
    assert "namespace models" in done.stderr
    assert "cannot reach the cluster at http://127.0.0.1:" in done.stderr


def test_a_tag_at_an_unreachable_registry_is_a_deploy_error(
    project: Path, env: dict[str, str]
) -> None:
    done = shipml("deploy", f"127.0.0.1:{free_port()}/team/iris:1.0", "--project", str(project),
                  "--dry-run", env=env)
    assert done.returncode == 8
    assert "cannot resolve the tag of" in done.stderr and "to a digest" in done.stderr
