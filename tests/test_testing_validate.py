from pathlib import Path

import pytest

from shipml.layers import FileLayer
from shipml.mutate import append_layers, scratch
from shipml.oci.digest import Digest
from shipml.oci.platform import Platform
from shipml.testing.images import random_image, random_index, random_layer
from shipml.testing.validate import InvalidImageError, validate_image, validate_index


def test_random_images_are_valid(tmp_path: Path) -> None:
    validate_image(random_image(tmp_path))
    validate_index(random_index(tmp_path))


def test_a_wrong_diff_id_is_reported(tmp_path: Path) -> None:
    good = random_layer(tmp_path)
    liar = FileLayer(good.path, good.descriptor, Digest.of(b"not the tar"))
    image = append_layers(scratch(Platform.parse("linux/amd64")), liar)
    with pytest.raises(InvalidImageError, match=r"layer 0: unreadable: .*diff_id"):
        validate_image(image)


def test_a_truncated_blob_is_reported(tmp_path: Path) -> None:
    image = random_image(tmp_path)
    path = image.layers()[1].path  # type: ignore[attr-defined]
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(InvalidImageError, match="layer 1: unreadable"):
        validate_image(image)
