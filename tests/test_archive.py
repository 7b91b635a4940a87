import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from shipml.archive import OciArchive, write_docker_archive, write_oci_archive
from shipml.errors import DigestMismatchError, FormatError, NotFoundError, StoreError
from shipml.oci.digest import Digest
from shipml.oci.image import Image, ImageIndex
from shipml.oci.reference import Reference
from shipml.testing.images import flip_byte, random_image, random_index
from shipml.testing.validate import validate_image, validate_index

REF = Reference.parse("shipml-test/archive:1")


def test_oci_archive_round_trip(tmp_path: Path) -> None:
    image = random_image(tmp_path / "src")
    target = tmp_path / "image.tar"
    write_oci_archive(image, target, ref=REF)
    with OciArchive(target) as archive:
        read = archive.open(str(REF))
        assert isinstance(read, Image)
        assert read.digest() == image.digest()
        validate_image(read)
        assert archive.open().digest() == image.digest()
        with pytest.raises(NotFoundError, match="0 images match other"):
            archive.open("other")


def test_oci_archive_of_an_index(tmp_path: Path) -> None:
    index = random_index(tmp_path / "src")
    target = tmp_path / "index.tar"
    write_oci_archive(index, target)
    with OciArchive(target) as archive:
        read = archive.open()
        assert isinstance(read, ImageIndex)
        validate_index(read)


def test_archives_are_reproducible(tmp_path: Path) -> None:
    image = random_image(tmp_path / "src")
    for name in ("a.tar", "b.tar"):
        write_oci_archive(image, tmp_path / name, ref=REF)
        write_docker_archive(image, tmp_path / f"docker-{name}", ref=REF)
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()
    assert (tmp_path / "docker-a.tar").read_bytes() == (tmp_path / "docker-b.tar").read_bytes()
    with tarfile.open(tmp_path / "a.tar") as tar:
        assert all(m.mtime == 0 and m.uid == 0 and not m.uname for m in tar)


def test_skopeo_reads_the_oci_archive(tmp_path: Path) -> None:
    image = random_image(tmp_path / "src")
    target = tmp_path / "image.tar"
    write_oci_archive(image, target, ref=REF)
    raw = subprocess.run(
        ["skopeo", "inspect", "--raw", f"oci-archive:{target}"], check=True, capture_output=True
    ).stdout
    assert Digest.of(raw) == image.digest()
    config = subprocess.run(
        ["skopeo", "inspect", "--config", f"oci-archive:{target}"],
        check=True,
        capture_output=True,
    ).stdout
    assert json.loads(config)["rootfs"]["diff_ids"] == [str(d.diff_id()) for d in image.layers()]


def test_docker_archive_layout(tmp_path: Path) -> None:
    image = random_image(tmp_path / "src")
    target = tmp_path / "docker.tar"
    write_docker_archive(image, target, ref=REF)
    with tarfile.open(target) as tar:
        manifest_file = tar.extractfile("manifest.json")
        assert manifest_file is not None
        (entry,) = json.load(manifest_file)
        assert entry["RepoTags"] == ["shipml-test/archive:1"]
        for layer, name in zip(image.layers(), entry["Layers"], strict=True):
            body = tar.extractfile(name)
            assert body is not None and Digest.of(body.read()) == layer.diff_id()
        config = tar.extractfile(entry["Config"])
        assert config is not None and config.read() == image.raw_config_file()


def test_a_failed_export_leaves_no_file(tmp_path: Path) -> None:
    image = random_image(tmp_path / "src")
    blob = image.layers()[0].path  # type: ignore[attr-defined]
    flip_byte(blob)
    with pytest.raises(DigestMismatchError, match="refusing"):
        write_oci_archive(image, tmp_path / "out.tar")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def test_not_an_archive(tmp_path: Path) -> None:
    (tmp_path / "x.tar").write_bytes(b"nope")
    with pytest.raises(FormatError, match="not a readable tar"):
        OciArchive(tmp_path / "x.tar")
    with tarfile.open(tmp_path / "empty.tar", "w"):
        pass
    with pytest.raises(FormatError, match=r"no index\.json"):
        OciArchive(tmp_path / "empty.tar")


@pytest.mark.podman
def test_podman_loads_the_docker_archive(tmp_path: Path) -> None:
    if not os.environ.get("CONTAINERS_CONF"):
        pytest.skip("podman needs the sandbox containers.conf that scripts/test.sh exports")
    image = random_image(tmp_path / "src", seed=42)
    target = tmp_path / "docker.tar"
    write_docker_archive(image, target, ref=REF)
    name = "shipml-test/archive:1"
    try:
        loaded = subprocess.run(
            ["podman", "load", "-i", str(target)], check=True, capture_output=True, text=True
        ).stdout
        assert loaded.strip().endswith(name)  # podman files short names under localhost/
        out = subprocess.run(
            ["podman", "image", "inspect", name], check=True, capture_output=True
        ).stdout
        (info,) = json.loads(out)
        assert info["RootFS"]["Layers"] == [str(layer.diff_id()) for layer in image.layers()]
        assert info["Id"] == image.manifest().config.digest.encoded
    finally:
        subprocess.run(["podman", "rmi", "-f", name], capture_output=True)


def test_an_unwritable_target_is_a_store_error(tmp_path: Path) -> None:
    image = random_image(tmp_path / "src")
    with pytest.raises(StoreError, match=r"cannot write .*missing"):
        write_oci_archive(image, tmp_path / "missing" / "image.tar")
