import json
from dataclasses import replace
from pathlib import Path

import pytest

from shipml.errors import FormatError
from shipml.mutate import (
    Addition,
    append_layers,
    canonical,
    index_of,
    rfc3339,
    scratch,
    with_annotations,
    with_config,
    with_config_file,
)
from shipml.oci.config import History
from shipml.oci.mediatypes import MediaType
from shipml.oci.platform import Platform
from shipml.testing.images import random_image, random_layer
from shipml.testing.validate import validate_image, validate_index

AMD64 = Platform.parse("linux/amd64")


def test_append_layers_adds_diff_ids_and_history(tmp_path: Path) -> None:
    base = scratch(AMD64)
    layer = random_layer(tmp_path, seed=1)
    image = append_layers(base, Addition(layer, History(created_by="deps")))
    config = image.config_file()
    assert config.diff_ids == (layer.diff_id(),)
    assert config.history == (History(created_by="deps"),)
    assert [d.digest for d in image.manifest().layers] == [layer.digest()]
    assert base.layers() == ()  # the base is untouched
    validate_image(image)


def test_config_changes_return_new_images(tmp_path: Path) -> None:
    image = random_image(tmp_path)
    runtime = replace(image.config_file().config, user="1000", entrypoint=("serve",))
    changed = with_config(image, runtime)
    assert changed.config_file().config.user == "1000"
    assert image.config_file().config.user is None
    assert changed.layers() == image.layers()
    assert changed.digest() != image.digest()
    validate_image(changed)


def test_with_config_file_must_keep_diff_ids(tmp_path: Path) -> None:
    image = random_image(tmp_path)
    with pytest.raises(FormatError, match="diff_ids"):
        with_config_file(image, replace(image.config_file(), diff_ids=()))


def test_canonical_fixes_every_timestamp(tmp_path: Path) -> None:
    image = append_layers(
        scratch(AMD64), Addition(random_layer(tmp_path), History(created="2024-05-01T10:00:00Z"))
    )
    image = with_config_file(image, replace(image.config_file(), created="2024-05-01T10:00:00Z"))
    fixed = canonical(image, epoch=1700000000)
    config = json.loads(fixed.raw_config_file())
    assert config["created"] == rfc3339(1700000000) == "2023-11-14T22:13:20Z"
    assert config["history"][0]["created"] == "2023-11-14T22:13:20Z"


def test_same_inputs_same_digest_in_other_directories(tmp_path: Path) -> None:
    assert random_image(tmp_path / "a").digest() == random_image(tmp_path / "b").digest()
    assert random_image(tmp_path / "a", seed=1).digest() != random_image(tmp_path / "a").digest()


def test_annotations_merge(tmp_path: Path) -> None:
    image = with_annotations(random_image(tmp_path), {"a": "1"})
    image = with_annotations(image, {"b": "2"})
    assert dict(image.manifest().annotations) == {"a": "1", "b": "2"}
    assert image.media_type() == MediaType.OCI_MANIFEST


def test_index_of_images(tmp_path: Path) -> None:
    amd = random_image(tmp_path, platform="linux/amd64")
    arm = random_image(tmp_path, platform="linux/arm64/v8")
    index = index_of(amd, arm)
    platforms = [d.platform for d in index.index_manifest().manifests]
    assert platforms == [AMD64, Platform.parse("linux/arm64/v8")]
    assert index.image(arm.digest()) is arm
    validate_index(index)
    with pytest.raises(FormatError, match="one image per platform"):
        index_of(amd, random_image(tmp_path, seed=3))
