"""Base images: which one a spec asks for, and the Debian one shipml builds offline-capably.

The default base is Debian with Python and what manylinux wheels need, built with mmdebstrap
(reproducible under SOURCE_DATE_EPOCH); ``base: oci-archive:FILE`` or ``base: oci:DIR[:TAG]``
name an image on disk, ``base: REGISTRY/REPO:TAG`` (or ``@sha256:...``) one in a registry; the
caller opens those (the build never reads stores or registries).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from shipml.build.recipes import Recipe
from shipml.build.uv import Target
from shipml.errors import BuildError, FormatError
from shipml.layers import Entry, EntryKind, Owner
from shipml.mutate import Addition, append_layers, scratch, with_config
from shipml.oci.config import ContainerConfig, History
from shipml.oci.image import Image, Layer
from shipml.oci.platform import Platform
from shipml.oci.reference import Reference, names_registry
from shipml.spec import Spec

# The Debian release whose python3 is each supported Python, and its glibc (manylinux tag).
DEBIAN_RELEASES = {"3.11": ("bookworm", "2.36"), "3.13": ("trixie", "2.41")}
DEBIAN_PACKAGES = ("python3", "libstdc++6", "libgomp1", "ca-certificates", "tzdata")
# The unprivileged user images run as; numeric so no name lookup is needed.
UID = GID = 10001
_DEBIAN_ARCH = {"amd64": "amd64", "arm64": "arm64"}
# Bumped when the recipe below changes, so cached bases built the old way are not reused.
_RECIPE_VERSION = "1"
_DPKG_EXCLUDES = (
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/locale/*",
    "path-include=/usr/share/locale/locale.alias",
    "path-exclude=/usr/share/lintian/*",
)
# Hooks (run with the root directory as $1): no host-specific files, no apt state, the service
# user, and stdlib bytecode that stays valid whatever the files' mtimes (PEP 552 unchecked hash).
_HOOKS = (
    'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*'
    ' "$1"/var/cache/debconf/*-old',
    'echo localhost > "$1"/etc/hostname && : > "$1"/etc/resolv.conf',
    f'echo "shipml:x:{UID}:{GID}:shipml:/srv/shipml:/usr/sbin/nologin" >> "$1"/etc/passwd',
    f'echo "shipml:x:{GID}:" >> "$1"/etc/group',
    'chroot "$1" python3 -c "import pathlib, py_compile as p\n'
    "for c in pathlib.Path('/usr/lib').glob('python3*/**/__pycache__/*.pyc'):\n"
    "    s = c.parent.parent / (c.name.split('.')[0] + '.py')\n"
    "    if s.exists() and '.opt-' not in c.name: p.compile(str(s), str(c), doraise=True,"
    ' invalidation_mode=p.PycInvalidationMode.UNCHECKED_HASH)"',
)
DEBIAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# The glibc assumed of a base shipml did not build: manylinux_2_28 wheels cover most packages.
OTHER_GLIBC = "2.28"
# File mtimes of the Debian rootfs; unchecked-hash bytecode makes any fixed value safe.
DEBIAN_EPOCH = 0


@dataclass(frozen=True, slots=True)
class DebianBase:
    """A base image built from Debian packages: a release and the packages on top of essential."""

    release: str
    glibc: str
    packages: tuple[str, ...]

    @property
    def name(self) -> str:
        """How the lock and the labels name this base, e.g. ``debian:bookworm``."""
        extra = sorted(set(self.packages) - set(DEBIAN_PACKAGES))
        return f"debian:{self.release}" + "".join(f"+{p}" for p in extra)

    def key(self, platform: Platform) -> str:
        """What the cached base layer is keyed by."""
        doc = "\n".join(
            [_RECIPE_VERSION, self.release, str(platform), *self.packages, *_DPKG_EXCLUDES, *_HOOKS]
        )
        return hashlib.sha256(doc.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class FileBase:
    """A base image on disk: an OCI image layout (``oci:``) or an oci-archive tarball."""

    transport: str
    path: Path
    tag: str | None

    @property
    def name(self) -> str:
        """How the lock and the labels name this base."""
        return f"{self.transport}:{self.path.name}" + (f":{self.tag}" if self.tag else "")


@dataclass(frozen=True, slots=True)
class RegistryBase:
    """A base image in a registry (``REGISTRY/REPO:TAG`` or ``@sha256:...``); the CLI pulls it."""

    reference: Reference

    @property
    def name(self) -> str:
        """How the lock and the labels name this base."""
        return str(self.reference)


Base = DebianBase | FileBase | RegistryBase


def parse_base(spec: Spec, project: Path) -> Base:
    """The base the spec asks for; BuildError for forms this build cannot read."""
    text = spec.base
    if text is None or text.startswith("debian:"):
        return debian_base(spec, release=None if text is None else text.removeprefix("debian:"))
    for transport in ("oci-archive", "oci"):
        if text.startswith(transport + ":"):
            location = text.removeprefix(transport + ":")
            path_text, tag = location, ""
            if transport == "oci":
                path_text, _, tag = location.partition(":")
            path = (project / path_text).resolve()
            if not path.exists():
                raise BuildError(
                    f"shipml.yaml base: {path} does not exist",
                    hint=f"give an existing {transport} path, relative to shipml.yaml",
                )
            return FileBase(transport, path, tag or None)
    hint = (
        "use 'REGISTRY/REPO:TAG' (e.g. docker.io/library/python:3.11-slim), "
        "'oci-archive:FILE', 'oci:DIR[:TAG]', 'debian:bookworm', or leave it out"
    )
    if not names_registry(text):
        raise BuildError(f"shipml.yaml base: {text!r} is not a base this build can read", hint=hint)
    try:
        return RegistryBase(Reference.parse(text))
    except FormatError as e:
        raise BuildError(f"shipml.yaml base: {e.message}", hint=e.hint or hint) from e


def debian_base(spec: Spec, *, release: str | None = None) -> DebianBase:
    """The Debian base for the spec's Python version and ``system_packages``."""
    known = {r: (r, g) for r, g in DEBIAN_RELEASES.values()}
    if release is not None:
        if release not in known:
            raise BuildError(f"shipml.yaml base: unknown Debian release {release!r}",
                             hint=f"use one of {sorted(known)}")
        chosen = known[release]
    elif spec.python in DEBIAN_RELEASES:
        chosen = DEBIAN_RELEASES[spec.python]
    else:
        raise BuildError(
            f"no Debian release ships Python {spec.python} as python3",
            hint=f"use python: one of {sorted(DEBIAN_RELEASES)}, or a base image with it",
        )
    packages = tuple(sorted({*DEBIAN_PACKAGES, *spec.system_packages}))
    return DebianBase(release=chosen[0], glibc=chosen[1], packages=packages)


def mmdebstrap_rootfs(base: DebianBase, platform: Platform, out: Path) -> None:
    """Build the base's root filesystem as a tarball at ``out`` with mmdebstrap."""
    arch = _DEBIAN_ARCH.get(platform.architecture)
    if platform.os != "linux" or arch is None:
        raise BuildError(f"no Debian base for platform {platform}")
    exe = shutil.which("mmdebstrap")
    if exe is None:
        raise BuildError(
            "building the default Debian base needs mmdebstrap, which is not installed",
            hint="apt-get install mmdebstrap, or set base: oci-archive:FILE in shipml.yaml",
        )
    args = [
        exe, "--quiet", "--variant=essential", f"--architectures={arch}",
        "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
        "--aptopt=Apt::Install-Recommends false",
        f"--include={','.join(base.packages)}",
        *(f"--dpkgopt={opt}" for opt in _DPKG_EXCLUDES),
        *(f"--customize-hook={hook}" for hook in _HOOKS),
        base.release, str(out),
    ]
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "SOURCE_DATE_EPOCH": str(DEBIAN_EPOCH),
           "LC_ALL": "C.UTF-8"}
    proc = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise BuildError(
            f"mmdebstrap could not build the Debian {base.release} base for {platform}:\n{tail}",
            hint="check the system_packages names; a foreign architecture needs qemu-user-static",
        )


def rootfs_entries(tar_path: Path, scratch: Path) -> Iterator[Entry]:
    """The entries of a rootfs tarball, modes and numeric owners kept, device nodes left out.

    Regular files are unpacked into ``scratch`` to be streamed from there; hard links become
    copies (the layer writer has no link entries), /dev keeps only its directories and links.
    """
    unpacked: dict[str, Path] = {}
    with tarfile.open(tar_path, "r:") as tar:
        for number, member in enumerate(tar):
            path = PurePosixPath(member.name.removeprefix("./"))
            if not path.parts or path == PurePosixPath("."):
                continue
            owner = Owner(member.uid, member.gid)
            if member.isdir():
                yield Entry(path, EntryKind.DIR, member.mode, owner)
            elif member.issym():
                yield Entry(path, EntryKind.SYMLINK, 0o777, owner, target=member.linkname)
            elif member.isfile():
                body = scratch / str(number)
                source = tar.extractfile(member)
                assert source is not None
                with source, body.open("wb") as sink:
                    shutil.copyfileobj(source, sink, 1 << 20)
                unpacked[member.name] = body
                yield Entry(path, EntryKind.FILE, member.mode, owner, source=body)
            elif member.islnk() and member.linkname in unpacked:
                yield Entry(path, EntryKind.FILE, member.mode, owner,
                            source=unpacked[member.linkname])
            # Character/block devices and fifos: the container runtime provides /dev.


def debian_recipe(base: DebianBase, platform: Platform) -> Recipe:
    """The base's single layer: mmdebstrap's rootfs, rewritten by the deterministic tar writer."""

    def entries(scratch: Path) -> Iterator[Entry]:
        tar_path = scratch / "rootfs.tar"
        mmdebstrap_rootfs(base, platform, tar_path)
        (scratch / "files").mkdir()
        return rootfs_entries(tar_path, scratch / "files")

    packages = ", ".join(base.packages)
    return Recipe("base", f"Debian {base.release} ({packages})", base.key(platform), entries,
                  DEBIAN_EPOCH)


def debian_image(base: DebianBase, layer: Layer, platform: Platform) -> Image:
    """The base image over its one layer (PATH as in Debian's own images)."""
    history = History(created_by=f"mmdebstrap --variant=essential {base.release}: "
                      + " ".join(base.packages))
    image = append_layers(scratch(platform), Addition(layer, history))
    return with_config(image, ContainerConfig(env=(f"PATH={DEBIAN_PATH}",)))


def target_for(base: Base, spec: Spec, platform: Platform) -> Target:
    """What wheels must fit: the platform, the spec's Python, the base's glibc."""
    glibc = base.glibc if isinstance(base, DebianBase) else OTHER_GLIBC
    return Target(platform, spec.python, glibc)
