import json
import os
import tarfile
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest

from shipml.archive import OciArchive
from shipml.layout import Store
from shipml.mutate import with_config
from shipml.oci.image import compressed_size
from shipml.oci.reference import Reference
from shipml.testing.cli import run_cli
from shipml.testing.images import random_image, random_index


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "SHIPML_HOME": str(tmp_path / "home")}


shipml = partial(run_cli, timeout=60)


def _stored(tmp_path: Path, home: dict[str, str]) -> tuple[Store, str]:
    store = Store.open(Path(home["SHIPML_HOME"]) / "store")
    image = random_image(tmp_path / "src")
    runtime = replace(image.config_file().config, labels={"ai.shipml.flavor": "sklearn"})
    image = with_config(image, runtime)
    store.write(image, ref=Reference.parse("demo:1"))
    return store, str(image.digest())


def test_images_lists_the_store(tmp_path: Path, home: dict[str, str]) -> None:
    store, digest = _stored(tmp_path, home)
    store.write(random_index(tmp_path / "src"), ref=Reference.parse("localhost:5000/multi:2"))
    table = shipml("images", env=home)
    assert table.returncode == 0, table.stderr
    assert "demo" in table.stdout and digest[7:19] in table.stdout
    assert "localhost:5000/multi" in table.stdout and "linux/amd64,linux/arm64" in table.stdout
    rows = json.loads(shipml("images", "--json", env=home).stdout)
    assert [r["reference"] for r in rows] == [
        "docker.io/library/demo:1",
        "localhost:5000/multi:2",
    ]
    assert rows[0]["digest"] == digest
    assert rows[0]["size"] == compressed_size(store.image("demo:1"))


def test_inspect_shows_config_layers_and_labels(tmp_path: Path, home: dict[str, str]) -> None:
    _, digest = _stored(tmp_path, home)
    info = json.loads(shipml("inspect", "demo:1", "--json", env=home).stdout)
    assert info["digest"] == digest
    assert info["platform"] == "linux/amd64"
    assert info["labels"] == {"ai.shipml.flavor": "sklearn"}
    assert [layer["createdBy"] for layer in info["layers"]] == ["random layer 0", "random layer 1"]
    text = shipml("inspect", digest[7:19], env=home).stdout
    assert "ai.shipml.flavor=sklearn" in text and "random layer 1" in text


def test_export_both_formats(tmp_path: Path, home: dict[str, str]) -> None:
    _, digest = _stored(tmp_path, home)
    oci = tmp_path / "demo.tar"
    done = shipml("export", "demo:1", "-o", str(oci), env=home)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(oci)
    with OciArchive(oci) as archive:
        assert str(archive.open("docker.io/library/demo:1").digest()) == digest
    docker = tmp_path / "demo-docker.tar"
    done = shipml("export", "demo:1", "-o", str(docker), "--format", "docker", env=home)
    assert done.returncode == 0, done.stderr
    with tarfile.open(docker) as tar:
        manifest = tar.extractfile("manifest.json")
        assert manifest is not None and json.load(manifest)[0]["RepoTags"] == ["demo:1"]


def test_docker_export_of_an_index_needs_a_platform(tmp_path: Path, home: dict[str, str]) -> None:
    Store.open(Path(home["SHIPML_HOME"]) / "store").write(
        random_index(tmp_path / "src"), ref=Reference.parse("multi:1")
    )
    out = tmp_path / "m.tar"
    refused = shipml("export", "multi:1", "-o", str(out), "--format", "docker", env=home)
    assert refused.returncode == 9 and "--platform" in refused.stderr
    assert not out.exists()
    picked = shipml(
        "export",
        "multi:1",
        "-o",
        str(out),
        "--format",
        "docker",
        "--platform",
        "linux/arm64",
        env=home,
    )
    assert picked.returncode == 0, picked.stderr


def test_rm_then_gc(tmp_path: Path, home: dict[str, str]) -> None:
    _, digest = _stored(tmp_path, home)
    removed = shipml("rm", "demo:1", env=home)
    assert removed.stdout.strip() == f"docker.io/library/demo:1@{digest}"
    assert json.loads(shipml("images", "--json", env=home).stdout) == []
    report = json.loads(shipml("gc", "--json", env=home).stdout)
    assert report["blobs"] == 4 and report["bytes"] > 0
    assert "removed 0 blobs" in shipml("gc", env=home).stdout


def test_store_option_and_errors(tmp_path: Path, home: dict[str, str]) -> None:
    other = tmp_path / "elsewhere"
    Store.open(other).write(random_image(tmp_path / "src"), ref=Reference.parse("there:1"))
    assert "there" in shipml("images", "--store", str(other), env=home).stdout
    missing = shipml("inspect", "there:1", env=home)
    assert missing.returncode == 5
    assert "no image there:1" in missing.stderr
    bad = shipml("inspect", "Bad Name", env=home)
    assert bad.returncode == 9 and "invalid" in bad.stderr
