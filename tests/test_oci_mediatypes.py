import pytest

from shipml.errors import FormatError
from shipml.oci.mediatypes import (
    Compression,
    MediaType,
    is_index,
    is_layer,
    is_manifest,
    layer_compression,
    oci_layer_type,
)


def test_predicates() -> None:
    assert is_manifest(MediaType.OCI_MANIFEST) and is_manifest(MediaType.DOCKER_MANIFEST)
    assert is_index(MediaType.OCI_INDEX) and is_index(MediaType.DOCKER_MANIFEST_LIST)
    assert not is_manifest(MediaType.OCI_INDEX)
    assert is_layer(MediaType.DOCKER_LAYER_GZIP) and not is_layer(MediaType.OCI_CONFIG)


@pytest.mark.parametrize("compression", list(Compression))
def test_layer_type_round_trips(compression: Compression) -> None:
    assert layer_compression(oci_layer_type(compression)) is compression


def test_docker_gzip_layer_and_non_layer() -> None:
    assert layer_compression(MediaType.DOCKER_LAYER_GZIP) is Compression.GZIP
    with pytest.raises(FormatError, match="not a layer"):
        layer_compression("application/json")
