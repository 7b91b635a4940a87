import marshal
import sys
from pathlib import Path, PurePosixPath

from shipml.build.bytecode import compile_file, compile_tree, compiler_for, pyc_path
from shipml.build.recipes import runtime_recipe

HERE = f"{sys.version_info.major}.{sys.version_info.minor}"


def _unchecked_hash(pyc: bytes) -> bool:
    # PEP 552: bit 0 of the flags word says hash-based, bit 1 says "check the source".
    return int.from_bytes(pyc[4:8], "little") == 0b01


def test_only_the_image_python_version_compiles() -> None:
    assert compiler_for(HERE) == sys.version.split()[0]
    assert compiler_for("2.7") is None


def test_a_module_compiles_to_unchecked_hash_bytecode_named_by_its_image_path(
    tmp_path: Path,
) -> None:
    source = tmp_path / "m.py"
    source.write_text("X = 1\n")
    pyc = compile_file(source, PurePosixPath("/opt/shipml/site/m.py"))
    assert _unchecked_hash(pyc)
    assert marshal.loads(pyc[16:]).co_filename == "/opt/shipml/site/m.py"
    assert compile_file(source, PurePosixPath("/opt/shipml/site/m.py")) == pyc
    assert pyc_path(PurePosixPath("/a/m.py")) == PurePosixPath(
        f"/a/__pycache__/m.{sys.implementation.cache_tag}.pyc"
    )


def test_a_tree_compiles_in_place_and_skips_what_does_not_compile(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "ok.py").write_text("Y = 2\n")
    (tmp_path / "pkg" / "py2.py").write_text("print 'old'\n")
    (tmp_path / "pkg" / "tests").mkdir()
    (tmp_path / "pkg" / "tests" / "test_ok.py").write_text("Z = 3\n")
    compile_tree(tmp_path, PurePosixPath("/opt/site"))
    assert not (tmp_path / "pkg" / "tests" / "__pycache__").exists()  # test suites: no .pyc
    [pyc] = (tmp_path / "pkg" / "__pycache__").iterdir()
    assert pyc.name.startswith("ok.") and _unchecked_hash(pyc.read_bytes())
    assert marshal.loads(pyc.read_bytes()[16:]).co_filename == "/opt/site/pkg/ok.py"


def test_the_runtime_layer_carries_bytecode_for_the_image_python() -> None:
    with_pyc = {str(e.path) for e in runtime_recipe(HERE).entries(Path("/nonexistent"))}
    without = {str(e.path) for e in runtime_recipe("2.7").entries(Path("/nonexistent"))}
    assert not any(p.endswith(".pyc") for p in without)
    assert f"opt/shipml/site/shipml/__pycache__/spec.{sys.implementation.cache_tag}.pyc" in with_pyc
    assert with_pyc - without == {p for p in with_pyc if p.endswith(".pyc")}
