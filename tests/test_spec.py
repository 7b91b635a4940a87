"""shipml.yaml loading: defaults, validation messages that name file and field, overrides."""

from pathlib import Path

import pytest

from shipml.errors import SpecError
from shipml.spec import dump_spec, load_spec, parse_spec, with_env_overrides

MINIMAL = {"name": "iris", "model": {"path": "model.joblib"}}


def test_minimal_spec_gets_documented_defaults() -> None:
    spec = parse_spec(MINIMAL)
    assert spec.version == "0.1.0"
    assert spec.serve.port == 8080
    assert spec.serve.batching.max_batch_size == 64
    assert spec.scaling.min_replicas <= spec.scaling.max_replicas


def test_unknown_key_names_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "shipml.yaml").write_text(
        "name: iris\nmodel:\n  path: m.joblib\n  flavour: sklearn\n"
    )
    with pytest.raises(SpecError) as e:
        load_spec(tmp_path)
    text = str(e.value)
    assert str(tmp_path / "shipml.yaml") in text
    assert "model.flavour" in text and "unknown key" in text


def test_wrong_type_names_field_and_expectation() -> None:
    with pytest.raises(SpecError) as e:
        parse_spec({**MINIMAL, "serve": {"batching": {"max_batch_size": "lots"}}})
    assert "serve.batching.max_batch_size" in str(e.value)
    assert "integer" in str(e.value)


def test_missing_model_path() -> None:
    with pytest.raises(SpecError, match=r"model\.path: required field is missing"):
        parse_spec({"name": "iris", "model": {}})


def test_name_must_be_dns_label() -> None:
    with pytest.raises(SpecError, match=r"name: .*lowercase DNS label"):
        parse_spec({**MINIMAL, "name": "Iris_Model"})


def test_custom_flavor_needs_predictor() -> None:
    with pytest.raises(SpecError, match="predictor"):
        parse_spec({"name": "x", "model": {"path": "w.bin", "flavor": "custom"}})
    with pytest.raises(SpecError, match=r"file\.py:ClassName"):
        parse_spec({"name": "x", "model": {"path": "w.bin", "predictor": "nocolon"}})


def test_scaling_bounds_are_checked_together() -> None:
    with pytest.raises(SpecError, match=r"min_replicas .* exceeds max_replicas"):
        parse_spec({**MINIMAL, "scaling": {"min_replicas": 5, "max_replicas": 2}})


def test_quantities_are_kubernetes_quantities() -> None:
    spec = parse_spec({**MINIMAL, "resources": {"requests": {"cpu": 2, "memory": "1Gi"}}})
    assert spec.resources.requests.cpu == "2"
    with pytest.raises(SpecError, match=r"resources\.requests\.memory"):
        parse_spec({**MINIMAL, "resources": {"requests": {"memory": "1 gigabyte"}}})


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no spec file"):
        load_spec(tmp_path)
    (tmp_path / "shipml.yaml").write_text("name: [unclosed\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(tmp_path)
    (tmp_path / "shipml.yaml").write_text("- a list\n")
    with pytest.raises(SpecError, match="expected a mapping"):
        load_spec(tmp_path)


def test_environment_overrides_serve_settings() -> None:
    spec = with_env_overrides(
        parse_spec(MINIMAL),
        {
            "SHIPML_PORT": "9000",
            "SHIPML_MAX_BATCH_SIZE": "8",
            "SHIPML_MAX_LATENCY_MS": "2.5",
            "SHIPML_WORKERS": "2",
            "UNRELATED": "x",
        },
    )
    assert spec.serve.port == 9000
    assert spec.serve.workers == 2
    assert spec.serve.batching.max_batch_size == 8
    assert spec.serve.batching.max_latency_ms == 2.5


def test_bad_environment_override_names_the_variable() -> None:
    with pytest.raises(SpecError, match="SHIPML_PORT"):
        with_env_overrides(parse_spec(MINIMAL), {"SHIPML_PORT": "eighty"})


def test_dump_round_trips() -> None:
    import yaml

    spec = parse_spec({**MINIMAL, "serve": {"port": 9001}})
    assert parse_spec(yaml.safe_load(dump_spec(spec))) == spec


def test_deploy_section_is_validated_field_by_field() -> None:
    spec = parse_spec({**MINIMAL, "deploy": {
        "namespace": "ml", "image_pull_secret": "regcred",
        "ingress": {"host": "iris.example.com", "path": "/iris"},
        "node_selector": {"node.kubernetes.io/instance-type": "g5.xlarge"},
        "tolerations": [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}]}})
    assert spec.deploy.ingress is not None and spec.deploy.ingress.host == "iris.example.com"
    assert parse_spec(MINIMAL).deploy.ingress is None
    with pytest.raises(SpecError) as e:
        parse_spec({**MINIMAL, "deploy": {
            "namespace": "ML", "ingress": {"host": "http://x"}, "node_selector": {"bad key": "x"},
            "tolerations": [{"key": "a", "operator": "Equal"}]}})
    text = str(e.value)
    assert "deploy.namespace: expected a lowercase DNS label" in text
    assert "deploy.ingress.host: expected a lowercase DNS host name" in text
    assert "deploy.node_selector: not valid Kubernetes label keys: bad key" in text
    assert "deploy.tolerations.0: operator 'Equal' needs a 'value'" in text
