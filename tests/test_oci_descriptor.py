import json

import pytest

from shipml.errors import FormatError
from shipml.oci.descriptor import REF_NAME, Descriptor, Index, Manifest
from shipml.oci.digest import Digest
from shipml.oci.mediatypes import MediaType
from shipml.oci.platform import Platform

CONFIG = Descriptor.of(b"{}", MediaType.OCI_CONFIG)
LAYER = Descriptor.of(b"layer", MediaType.OCI_LAYER_GZIP)


def test_descriptor_json_round_trip_with_all_fields() -> None:
    d = Descriptor(
        MediaType.OCI_MANIFEST,
        Digest.of(b"m"),
        1,
        annotations={REF_NAME: "v1"},
        platform=Platform.parse("linux/amd64"),
        urls=("https://example.invalid/x",),
        artifact_type="application/x-model",
    )
    assert Descriptor.from_json(d.to_json()) == d


def test_with_annotations_adds_and_removes() -> None:
    d = LAYER.with_annotations(a="1", b="2").with_annotations(a=None)
    assert dict(d.annotations) == {"b": "2"}
    assert dict(LAYER.annotations) == {}


def test_manifest_bytes_are_compact_and_round_trip() -> None:
    m = Manifest(CONFIG, (LAYER,), annotations={"k": "v"})
    raw = m.to_bytes()
    assert b" " not in raw
    assert json.loads(raw)["schemaVersion"] == 2
    assert list(json.loads(raw)) == [
        "schemaVersion",
        "mediaType",
        "config",
        "layers",
        "annotations",
    ]
    assert Manifest.from_bytes(raw) == m
    assert Manifest.from_bytes(raw).to_bytes() == raw


def test_index_round_trip() -> None:
    child = Descriptor.of(b"m", MediaType.OCI_MANIFEST, platform=Platform.parse("linux/arm64"))
    index = Index((child,))
    assert Index.from_bytes(index.to_bytes()) == index


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (b"[]", "must be a JSON object"),
        (b"{", "not valid JSON"),
        (b'{"schemaVersion": 1}', "schemaVersion must be 2"),
        (b'{"schemaVersion": 2, "layers": []}', "missing required field 'config'"),
        (
            b'{"schemaVersion": 2, "config": {"mediaType": "x", "digest": "sha256:1", "size": 2}}',
            "invalid sha256 digest",
        ),
        (
            b'{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:1","size":"2"}}',
            r"manifest.config: field 'size' must be int",
        ),
    ],
)
def test_bad_manifests_name_the_field(doc: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        Manifest.from_bytes(doc)


def test_index_is_not_a_manifest() -> None:
    with pytest.raises(FormatError, match="is not an image manifest"):
        Manifest.from_bytes(Index(()).to_bytes())
    with pytest.raises(FormatError, match="is not an image index"):
        Index.from_bytes(Manifest(CONFIG, ()).to_bytes())
