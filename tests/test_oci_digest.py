import hashlib

import pytest

from shipml.errors import FormatError
from shipml.oci.digest import Digest, Hasher

HEX = hashlib.sha256(b"hello").hexdigest()


def test_parse_and_str_round_trip() -> None:
    d = Digest.parse(f"sha256:{HEX}")
    assert d == Digest.of(b"hello")
    assert str(d) == f"sha256:{HEX}"
    assert d.short == HEX[:12]


@pytest.mark.parametrize(
    "text", ["", "sha256", f"sha256:{HEX[:-1]}", f"sha256:{HEX.upper()}", f"md5:{HEX}", "x:y"]
)
def test_invalid_digests_are_refused_with_the_text(text: str) -> None:
    with pytest.raises(FormatError, match="digest"):
        Digest.parse(text)


def test_hasher_streams_and_counts() -> None:
    h = Hasher()
    h.update(b"hel")
    h.update(memoryview(b"lo"))
    assert h.digest() == Digest.of(b"hello")
    assert h.size == 5


def test_matches_and_sha512() -> None:
    d = Digest("sha512", hashlib.sha512(b"x").hexdigest())
    assert d.matches(b"x")
    assert not d.matches(b"y")
