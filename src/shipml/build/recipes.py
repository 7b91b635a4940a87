"""The layer recipes of an image, bottom to top: deps, shipml's runtime, model, code and spec.

What changes most often sits on top. A recipe states its ``inputs`` (a digest of everything
its layer depends on) before doing any work, so the cache decides whether to run it at all.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path, PurePosixPath

from shipml.build.bytecode import compile_file, compile_tree, compiler_for, pyc_path
from shipml.build.uv import Target, run_uv
from shipml.errors import BuildError
from shipml.layers import Entry, bytes_entry, file_entry, tree_entries
from shipml.spec import SPEC_FILENAME, Spec

# Where things live inside the image.
SITE_DIR = PurePosixPath("/opt/shipml/site")
PROJECT_DIR = PurePosixPath("/srv/shipml")
# shipml's own files an image carries: the runtime and what it imports, nothing else.
SHIPML_FILES = ("__init__.py", "errors.py", "spec.py", "py.typed")
IGNORE_FILENAME = ".shipmlignore"
# Never part of the code layer: VCS data, environments, caches, editor and notebook droppings,
# and .shipml/ (the files `shipml dockerfile` writes for a docker build context).
DEFAULT_IGNORES = (
    ".git", ".hg", ".svn", ".venv", "venv", "__pycache__", "*.pyc", ".pytest_cache",
    ".mypy_cache", ".ruff_cache", ".ipynb_checkpoints", ".DS_Store", "node_modules",
    IGNORE_FILENAME, ".shipml",
)


# File mtime of the layers whose content the lock and shipml's version alone decide (deps,
# runtime): not the project's SOURCE_DATE_EPOCH, so a re-lock with the same pins or another
# project with the same pins gets the very same blobs (cached here, deduplicated by registries).
PINNED_MTIME = 0


@dataclass(frozen=True, slots=True)
class Recipe:
    """One layer: a name, the digest of its inputs, and how to list its entries given scratch.

    ``mtime`` fixes the files' timestamps; None gives them the project's SOURCE_DATE_EPOCH.
    """

    name: str
    description: str
    inputs: str
    entries: Callable[[Path], Iterable[Entry]]
    mtime: int | None = None


# How a recipe learns a file's sha256: read it, or ask a memo (see cache.FileDigests).
FileHasher = Callable[[Path], bytes]


def sha256_file(path: Path) -> bytes:
    """The sha256 of a file's content, read in full."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").digest()


def entries_digest(entries: Iterable[Entry], hash_file: FileHasher = sha256_file) -> str:
    """A sha256 over paths, kinds, modes, owners, link targets and file contents."""
    total = hashlib.sha256()
    for e in sorted(entries, key=lambda e: str(e.path).encode()):
        head = f"{e.path}\0{e.kind.value}\0{e.mode:o}\0{e.owner.uid}:{e.owner.gid}\0{e.target}\0"
        total.update(head.encode())
        if e.data is not None:
            total.update(hashlib.sha256(e.data).digest())
        elif e.source is not None:
            total.update(hash_file(e.source))
    return total.hexdigest()


def _listed(
    name: str, description: str, entries: Sequence[Entry], hash_file: FileHasher = sha256_file
) -> Recipe:
    """A recipe whose entries are known up front (their contents are its inputs)."""
    return Recipe(name, description, entries_digest(entries, hash_file), lambda _: entries)


def deps_recipe(requirements: str, target: Target) -> Recipe:
    """The pinned third-party wheels, installed by uv for the target into SITE_DIR."""
    compiler = compiler_for(target.python)  # its version makes the .pyc bytes: an input
    parts = [requirements, *target.uv_args(), compiler or "no bytecode"]
    inputs = hashlib.sha256("\0".join(parts).encode()).hexdigest()

    def entries(scratch: Path) -> list[Entry]:
        (scratch / "requirements.txt").write_text(requirements, encoding="utf-8")
        site = scratch / "site"
        run_uv(
            [
                "pip", "install", "--quiet", "--target", str(site), "--no-deps",
                "--require-hashes", "--no-compile", "-r", "requirements.txt",
                *target.uv_args(),
            ],
            cwd=scratch,
            what=f"installing the locked wheels for {target.platform}",
        )
        site.mkdir(exist_ok=True)
        if compiler:
            compile_tree(site, SITE_DIR)
        # Console scripts carry this machine's interpreter path in their shebang: not shipped.
        return tree_entries(site, SITE_DIR, exclude=_ignored(("bin",)))

    count = sum(1 for line in requirements.splitlines() if "==" in line)
    return Recipe("deps", f"{count} pinned Python packages", inputs, entries, PINNED_MTIME)


def runtime_entries() -> list[Entry]:
    """shipml's serving runtime (and the errors and spec modules it uses), nothing of the CLI,
    at its place under SITE_DIR; no bytecode."""
    package = Path(str(resources.files("shipml")))
    dest = SITE_DIR / "shipml"
    entries = [file_entry(dest / name, package / name)
               for name in SHIPML_FILES if (package / name).is_file()]
    entries += tree_entries(package / "runtime", dest / "runtime",
                            exclude=_ignored(("__pycache__", "*.pyc")))
    return entries


def runtime_recipe(python: str | None = None) -> Recipe:
    """The runtime_entries() layer, with .pyc when this interpreter compiles for the image's
    Python ``python``."""
    entries = runtime_entries()
    compiler = compiler_for(python) if python else None
    if compiler is None:
        return replace(_listed("shipml", "the shipml serving runtime", entries),
                       mtime=PINNED_MTIME)

    def with_bytecode(_scratch: Path) -> list[Entry]:
        # Compiled only when the layer is built: a cached layer costs no compilation.
        modules = [(e.source, "/" / e.path) for e in entries
                   if e.source is not None and e.path.suffix == ".py"]
        return entries + [bytes_entry(pyc_path(path), compile_file(source, path))
                          for source, path in modules]

    inputs = hashlib.sha256(f"{entries_digest(entries)}\0{compiler}".encode()).hexdigest()
    return Recipe("shipml", "the shipml serving runtime", inputs, with_bytecode, PINNED_MTIME)


def model_paths(project: Path, spec: Spec) -> list[Path]:
    """The model artifact(s) the spec names; BuildError when missing."""
    path = project / spec.model.path
    if not path.exists():
        raise BuildError(
            f"model file {path} does not exist (model.path in {project / SPEC_FILENAME})",
            hint="train or copy the model there, or fix model.path",
        )
    return [path]


def model_recipe(project: Path, spec: Spec, *, hash_file: FileHasher = sha256_file) -> Recipe:
    """The model artifact(s), file or directory, at their place under PROJECT_DIR."""
    entries: list[Entry] = []
    for path in model_paths(project, spec):
        dest = PROJECT_DIR / path.relative_to(project).as_posix()
        entries += tree_entries(path, dest) if path.is_dir() else [file_entry(dest, path)]
    return _listed("model", f"model {spec.model.path}", entries, hash_file)


def code_entries(project: Path, spec: Spec) -> list[Entry]:
    """Everything else in the project (spec, lock, user code), minus model and ignored paths,
    at its place under PROJECT_DIR."""
    models = {PurePosixPath(p.relative_to(project).as_posix()) for p in model_paths(project, spec)}
    patterns = DEFAULT_IGNORES + _ignore_file(project)
    ignored = _ignored(patterns)
    return tree_entries(project, PROJECT_DIR, exclude=lambda rel: rel in models or ignored(rel))


def code_recipe(project: Path, spec: Spec, *, hash_file: FileHasher = sha256_file) -> Recipe:
    """The code_entries() layer."""
    return _listed("code", "spec and project code", code_entries(project, spec), hash_file)


def _ignore_file(project: Path) -> tuple[str, ...]:
    try:
        text = (project / IGNORE_FILENAME).read_text(encoding="utf-8")
    except FileNotFoundError:
        return ()
    lines = (line.strip() for line in text.splitlines())
    return tuple(line.rstrip("/") for line in lines if line and not line.startswith("#"))


def _ignored(patterns: Iterable[str]) -> Callable[[PurePosixPath], bool]:
    """A predicate on relative paths: a pattern matches the whole path or any one component."""
    compiled = tuple(patterns)

    def match(rel: PurePosixPath) -> bool:
        text = rel.as_posix()
        return any(
            fnmatch.fnmatchcase(text, p) or any(fnmatch.fnmatchcase(part, p) for part in rel.parts)
            for p in compiled
        )

    return match
