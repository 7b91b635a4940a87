import json

import pytest

from shipml.errors import FormatError
from shipml.oci.config import ContainerConfig, Healthcheck, History, ImageConfig
from shipml.oci.digest import Digest
from shipml.oci.platform import Platform


def _config() -> ImageConfig:
    return ImageConfig(
        platform=Platform.parse("linux/arm64/v8"),
        created="1970-01-01T00:00:00Z",
        config=ContainerConfig(
            user="1000:1000",
            exposed_ports=frozenset({"8080/tcp"}),
            env=("PATH=/usr/bin",),
            entrypoint=("python", "-m", "shipml.runtime.main"),
            cmd=(),
            working_dir="/app",
            labels={"b": "2", "a": "1"},
            stop_signal="SIGTERM",
        ),
        diff_ids=(Digest.of(b"tar"),),
        history=(History(created_by="shipml", comment="deps"), History(empty_layer=True)),
    )


def test_round_trip_and_spec_shape() -> None:
    config = _config()
    raw = config.to_bytes()
    assert ImageConfig.from_bytes(raw) == config
    obj = json.loads(raw)
    assert obj["rootfs"] == {"type": "layers", "diff_ids": [str(Digest.of(b"tar"))]}
    assert obj["config"]["ExposedPorts"] == {"8080/tcp": {}}
    assert list(obj["config"]["Labels"]) == ["a", "b"]
    assert obj["config"]["Cmd"] == []
    assert config.platform == Platform.parse("linux/arm64/v8")


def test_missing_rootfs_is_named() -> None:
    with pytest.raises(FormatError, match="image config: missing required field 'rootfs'"):
        ImageConfig.from_bytes(b'{"architecture": "amd64", "os": "linux"}')


def test_bad_env_is_named() -> None:
    doc = b'{"architecture":"amd64","os":"linux","config":{"Env":[1]},"rootfs":{"type":"layers"}}'
    with pytest.raises(FormatError, match=r"image config.config: every item of 'Env'"):
        ImageConfig.from_bytes(doc)


def test_docker_style_null_fields_are_accepted() -> None:
    doc = (
        b'{"architecture":"amd64","os":"linux","config":{"Entrypoint":null,"Env":null},'
        b'"rootfs":{"type":"layers","diff_ids":[]}}'
    )
    config = ImageConfig.from_bytes(doc)
    assert config.config.entrypoint is None
    assert config.config.env == ()


def test_healthcheck_is_docker_shaped_and_round_trips() -> None:
    check = Healthcheck(("CMD", "python3", "-c", "pass"), interval_ns=10**10, retries=3)
    config = ContainerConfig(healthcheck=check)
    assert config.to_json() == {
        "Healthcheck": {"Test": ["CMD", "python3", "-c", "pass"], "Interval": 10**10, "Retries": 3}
    }
    assert ContainerConfig.from_json(config.to_json(), "config") == config
    with pytest.raises(FormatError, match=r"config.Healthcheck: field 'Retries' must be int"):
        ContainerConfig.from_json({"Healthcheck": {"Test": ["NONE"], "Retries": "3"}}, "config")
