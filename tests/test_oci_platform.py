import pytest

from shipml.errors import FormatError
from shipml.oci.platform import Platform


def test_parse_and_format() -> None:
    p = Platform.parse("linux/arm64/v8")
    assert (p.os, p.architecture, p.variant) == ("linux", "arm64", "v8")
    assert str(p) == "linux/arm64/v8"
    assert str(Platform.parse("linux/amd64")) == "linux/amd64"


@pytest.mark.parametrize("text", ["linux", "linux/", "/amd64", "a/b/c/d"])
def test_bad_platforms_are_refused(text: str) -> None:
    with pytest.raises(FormatError, match="os/arch"):
        Platform.parse(text)


def test_json_round_trip_keeps_dotted_keys() -> None:
    p = Platform("windows", "amd64", os_version="10.0.17763", os_features=("win32k",))
    obj = p.to_json()
    assert obj["os.version"] == "10.0.17763"
    assert Platform.from_json(obj) == p


def test_satisfies_ignores_variant_when_not_asked() -> None:
    arm = Platform.parse("linux/arm64/v8")
    assert arm.satisfies(Platform.parse("linux/arm64"))
    assert not arm.satisfies(Platform.parse("linux/arm64/v7"))
    assert not arm.satisfies(Platform.parse("linux/amd64"))
