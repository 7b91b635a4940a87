"""The distribution reference grammar: normalisation, ports, digests and clear refusals."""

from __future__ import annotations

import pytest

from shipml.errors import FormatError
from shipml.oci.digest import Digest
from shipml.oci.reference import Reference, names_registry, parse_reference

HEX = "a" * 64


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("ubuntu", "docker.io", "library/ubuntu", "latest", None),
        ("ubuntu:22.04", "docker.io", "library/ubuntu", "22.04", None),
        ("user/app", "docker.io", "user/app", "latest", None),
        ("docker.io/ubuntu", "docker.io", "library/ubuntu", "latest", None),
        ("index.docker.io/user/app:v1", "docker.io", "user/app", "v1", None),
        ("registry-1.docker.io/library/x", "docker.io", "library/x", "latest", None),
        ("localhost/app", "localhost", "app", "latest", None),
        ("localhost:5000/app:1.0", "localhost:5000", "app", "1.0", None),
        ("127.0.0.1:5000/team/app", "127.0.0.1:5000", "team/app", "latest", None),
        ("ghcr.io/org/sub/app:sha-1", "ghcr.io", "org/sub/app", "sha-1", None),
        ("myhost:443/a", "myhost:443", "a", "latest", None),
        ("[::1]:5000/app", "[::1]:5000", "app", "latest", None),
        ("Registry/app", "Registry", "app", "latest", None),
        (f"app@sha256:{HEX}", "docker.io", "library/app", None, f"sha256:{HEX}"),
        (f"r.io:5000/app:v2@sha256:{HEX}", "r.io:5000", "app", "v2", f"sha256:{HEX}"),
        ("a/b_c/d__e/f.g/h--i", "docker.io", "a/b_c/d__e/f.g/h--i", "latest", None),
        ("app:_under.score-1", "docker.io", "library/app", "_under.score-1", None),
    ],
)
def test_parse_normalises(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag) == (registry, repository, tag)
    assert (str(ref.digest) if ref.digest else None) == digest


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "invalid image reference"),
        (" app", "invalid image reference"),
        ("Ubuntu", "must be lowercase"),
        ("docker.io/User/app", "must be lowercase"),
        ("app:-bad", "invalid tag"),
        ("app:" + "t" * 129, "invalid tag"),
        ("app:tag with space", "invalid tag"),
        ("app@sha256:short", "invalid sha256 digest"),
        ("app@md5:" + HEX, "unsupported digest algorithm"),
        ("a//b", "invalid repository component ''"),
        ("a/-b", "invalid repository component '-b'"),
        ("a/b_", "invalid repository component 'b_'"),
        ("a/b___c", "invalid repository component"),
        ("localhost:5000/", "invalid repository component ''"),
        ("bad_host.io/app", "invalid registry"),
        ("host.io:port/app", "invalid registry"),
        ("r.io/" + "a" * 260, "longer than 255"),
    ],
)
def test_parse_refuses_with_the_reason(text: str, needle: str) -> None:
    with pytest.raises(FormatError) as info:
        parse_reference(text)
    assert needle in str(info.value)


def test_str_round_trips_and_familiar_form_is_short() -> None:
    for text in ("localhost:5000/app:1", f"ghcr.io/o/a@sha256:{HEX}", "docker.io/u/a:v"):
        assert str(parse_reference(text)) == text
    assert parse_reference("ubuntu").familiar() == "ubuntu:latest"
    assert parse_reference("docker.io/library/a/b:1").familiar() == "library/a/b:1"
    assert parse_reference("u/app:1").familiar() == "u/app:1"
    assert parse_reference("ghcr.io/o/a:1").familiar() == "ghcr.io/o/a:1"
    assert str(parse_reference("ubuntu")) == "docker.io/library/ubuntu:latest"


def test_identifier_prefers_the_digest() -> None:
    digest = Digest.parse(f"sha256:{HEX}")
    ref = Reference.parse("localhost:5000/app:v1")
    assert ref.identifier == "v1"
    pinned = ref.with_digest(digest)
    assert pinned.identifier == str(digest)
    assert pinned.tag == "v1"
    assert pinned.with_tag("v2") == Reference("localhost:5000", "app", "v2")
    assert ref.name == "localhost:5000/app"


def test_constructed_references_are_validated_too() -> None:
    with pytest.raises(FormatError, match="neither a tag nor a digest"):
        Reference("r.io", "app")
    with pytest.raises(FormatError, match="invalid tag"):
        Reference.parse("r.io/app").with_tag("no good")
    with pytest.raises(FormatError, match="must be lowercase"):
        Reference("r.io", "App", "1")


@pytest.mark.parametrize(
    ("text", "explicit"),
    [
        ("ghcr.io/o/a:1", True),
        ("localhost:5000/a", True),
        ("localhost/a", True),
        ("docker.io/library/python:3.11", True),
        ("127.0.0.1:5000/a", True),
        ("python:3.11", False),
        ("team/app", False),
        ("ubuntu", False),
    ],
)
def test_names_registry_tells_an_explicit_registry_from_implied_docker_hub(
    text: str, explicit: bool
) -> None:
    assert names_registry(text) is explicit
