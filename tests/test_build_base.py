"""Base images: what a spec asks for, the Debian rootfs as layer entries, broken bases."""

from __future__ import annotations

import io
import tarfile
from contextlib import ExitStack
from pathlib import Path, PurePosixPath

import pytest

from shipml.build.base import DebianBase, FileBase, parse_base, rootfs_entries, target_for
from shipml.cli.build_base import base_opener
from shipml.errors import BuildError
from shipml.layers import EntryKind
from shipml.oci.platform import Platform
from shipml.spec import Spec, parse_spec

AMD64 = Platform("linux", "amd64")


def _spec(**extra: object) -> Spec:
    return parse_spec({"name": "m", "model": {"path": "model.joblib"}, **extra})


def test_default_base_is_debian_for_the_python(tmp_path: Path) -> None:
    base = parse_base(_spec(system_packages=["libgl1"]), tmp_path)
    assert isinstance(base, DebianBase)
    assert (base.release, base.name) == ("bookworm", "debian:bookworm+libgl1")
    assert {"python3", "libstdc++6", "libgomp1", "ca-certificates", "tzdata"} <= set(base.packages)
    assert target_for(base, _spec(), AMD64).uv_platform() == "x86_64-manylinux_2_36"
    assert parse_base(_spec(python="3.13"), tmp_path).name == "debian:trixie"
    assert base.key(AMD64) != parse_base(_spec(), tmp_path).key(AMD64)  # type: ignore[union-attr]


def test_unsupported_bases_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match=r"no Debian release ships Python 3\.12"):
        parse_base(_spec(python="3.12"), tmp_path)
    with pytest.raises(BuildError, match="does not exist"):
        parse_base(_spec(base="oci-archive:missing.tar"), tmp_path)
    with pytest.raises(BuildError, match="not a base this build can read"):
        parse_base(_spec(base="ubuntu"), tmp_path)


def test_file_bases(tmp_path: Path) -> None:
    (tmp_path / "base.tar").write_bytes(b"")
    (tmp_path / "layout").mkdir()
    archive = parse_base(_spec(base="oci-archive:base.tar"), tmp_path)
    layout = parse_base(_spec(base="oci:layout:v1"), tmp_path)
    assert archive == FileBase("oci-archive", tmp_path / "base.tar", None)
    assert layout == FileBase("oci", tmp_path / "layout", "v1")
    assert target_for(archive, _spec(), Platform("linux", "arm64")).uv_platform() == (
        "aarch64-manylinux_2_28"
    )


def test_broken_base_archive_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "base.tar").write_bytes(b"this is not a tarball")
    base = parse_base(_spec(base="oci-archive:base.tar"), tmp_path)
    assert isinstance(base, FileBase)
    with ExitStack() as stack, pytest.raises(BuildError, match=r"oci-archive:.*base\.tar"):
        base_opener(stack)(base, AMD64)


def _rootfs(path: Path) -> None:
    with tarfile.open(path, "w") as tar:
        def add(name: str, kind: bytes, mode: int, data: bytes = b"", **kw: object) -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.size = kind, mode, len(data)
            for k, v in kw.items():
                setattr(info, k, v)
            tar.addfile(info, io.BytesIO(data) if data else None)

        add("./", tarfile.DIRTYPE, 0o755)
        add("./dev/", tarfile.DIRTYPE, 0o755)
        add("./dev/null", tarfile.CHRTYPE, 0o666, devmajor=1, devminor=3)
        add("./tmp/", tarfile.DIRTYPE, 0o1777)
        add("./usr/bin/su", tarfile.REGTYPE, 0o4755, b"su", uid=0)
        add("./usr/bin/perl", tarfile.REGTYPE, 0o755, b"perl")
        add("./usr/bin/perl5", tarfile.LNKTYPE, 0o755, linkname="./usr/bin/perl")
        add("./var/mail/", tarfile.DIRTYPE, 0o2775, gid=8)
        add("./bin", tarfile.SYMTYPE, 0o777, linkname="usr/bin")


def test_rootfs_entries_keep_modes_and_owners_and_drop_devices(tmp_path: Path) -> None:
    _rootfs(tmp_path / "rootfs.tar")
    (tmp_path / "files").mkdir()
    entries = {str(e.path): e for e in rootfs_entries(tmp_path / "rootfs.tar", tmp_path / "files")}
    assert "dev/null" not in entries and entries["dev"].kind is EntryKind.DIR
    assert entries["tmp"].mode == 0o1777
    assert entries["usr/bin/su"].mode == 0o4755
    assert entries["var/mail"].owner.gid == 8
    assert entries["bin"].target == "usr/bin"
    perl5 = entries["usr/bin/perl5"]
    assert perl5.kind is EntryKind.FILE and perl5.source is not None
    assert perl5.source.read_bytes() == b"perl"
    assert all(not PurePosixPath(p).is_absolute() for p in entries)
