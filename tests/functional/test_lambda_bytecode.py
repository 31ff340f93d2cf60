"""The build step that compiles each Lambda package to bytecode (sam/precompile.py, run by `make sam-build`):
the handlers then import every module of ours from bytecode, whatever mtimes the deployment zip gives the sources,
a source edited after the build still runs, and a Python other than the template's runtime is refused."""

from __future__ import annotations

import marshal
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRECOMPILE = ROOT / "sam" / "precompile.py"
TEMPLATE = ROOT / "sam" / "template.yaml"
THIS_PYTHON = f"python{sys.version_info.major}.{sys.version_info.minor}"
ZIP_EPOCH = 315532800  # 1980-01-01: the date `sam package` gives every entry of a function's zip
# Imports the modules given and prints every source file the import compiled (none when all come from bytecode).
COMPILED_SOURCES = """
import importlib, importlib._bootstrap_external as external, os, sys
compiled = []
to_code = external.SourceLoader.source_to_code
def recording(self, data, path, *, _optimize=-1):
    compiled.append(path)
    return to_code(self, data, path, _optimize=_optimize)
external.SourceLoader.source_to_code = recording
for name in sys.argv[1:]:
    importlib.import_module(name)
print("\\n".join(path for path in compiled if path.startswith(os.getcwd())))
"""


def precompile(*packages: Path, template: Path = TEMPLATE) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(PRECOMPILE), "--template", str(template), *map(str, packages)],
                          capture_output=True, text=True)


def compiled_sources(package: Path, *modules: str, env: dict[str, str] | None = None) -> list[str]:
    out = subprocess.run([sys.executable, "-c", COMPILED_SOURCES, *modules], cwd=package, capture_output=True,
                         text=True, check=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})})
    return out.stdout.split()


def a_template(tmp_path: Path, runtime: str = THIS_PYTHON) -> Path:
    template = tmp_path / "template.yaml"
    template.write_text(f"Globals:\n  Function:\n    Runtime: {runtime}\n    CodeUri: src/\n")
    return template


def a_package(where: Path) -> Path:
    (where / "pkg").mkdir(parents=True)
    (where / "pkg" / "__init__.py").write_text("")
    (where / "pkg" / "mod.py").write_text("def answer():\n    return 42\n")
    return where


def test_the_handlers_import_all_of_our_modules_from_bytecode_whatever_the_sources_mtimes(tmp_path):
    runtime = re.search(r"^\s+Runtime:\s*(python\S+)", TEMPLATE.read_text(), flags=re.M)
    if runtime is None or runtime.group(1) != THIS_PYTHON:
        pytest.skip(f"the template's runtime is not this {THIS_PYTHON}")
    package = tmp_path / "IngestFunction"
    shutil.copytree(ROOT / "sam" / "src", package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    handlers = sorted({h.rsplit(".", 1)[0] for h in re.findall(r"^\s+Handler:\s*(\S+)", TEMPLATE.read_text(),
                                                                  flags=re.M)})
    env = {"POWERTOOLS_TRACE_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1"}
    assert compiled_sources(package, *handlers, env=env)  # sam build's package: every module is compiled

    build = precompile(package)
    assert build.returncode == 0, build.stderr
    for source in package.rglob("*.py"):
        os.utime(source, (ZIP_EPOCH, ZIP_EPOCH))  # a timestamp .pyc would no longer match its source
    assert compiled_sources(package, *handlers, env=env) == []


def test_a_compiled_module_records_its_path_in_lambdas_task_root_so_every_build_gives_the_same_bytes(tmp_path):
    first, second = a_package(tmp_path / "one" / "IngestFunction"), a_package(tmp_path / "two" / "elsewhere")
    assert precompile(first, second, template=a_template(tmp_path)).returncode == 0
    cache = Path("pkg") / "__pycache__" / f"mod.{sys.implementation.cache_tag}.pyc"
    assert (first / cache).read_bytes() == (second / cache).read_bytes()
    assert marshal.loads((first / cache).read_bytes()[16:]).co_filename == "/var/task/pkg/mod.py"


def test_a_source_edited_after_the_build_is_the_code_that_runs(tmp_path):
    package = a_package(tmp_path / "IngestFunction")
    assert precompile(package, template=a_template(tmp_path)).returncode == 0
    assert compiled_sources(package, "pkg.mod") == []
    (package / "pkg" / "mod.py").write_text("def answer():\n    return 43\n")
    out = subprocess.run([sys.executable, "-c", "import pkg.mod; print(pkg.mod.answer())"], cwd=package,
                         capture_output=True, text=True, check=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert out.stdout.strip() == "43"


@pytest.mark.parametrize("runtime, problem", [
    (f"python{sys.version_info.major}.{sys.version_info.minor + 1}", "bytecode"),
    ("nodejs20.x", "expected one Python runtime"),
])
def test_the_build_step_refuses_in_one_line_a_template_whose_runtime_is_not_this_python(tmp_path, runtime, problem):
    package = a_package(tmp_path / "IngestFunction")
    build = precompile(package, template=a_template(tmp_path, runtime))
    assert build.returncode == 2
    assert len(build.stderr.splitlines()) == 1 and problem in build.stderr
    assert not list(package.rglob("*.pyc"))


def test_make_sam_build_compiles_every_function_that_sam_build_wrote():
    recipe = re.search(r"^sam-build:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), flags=re.M)
    assert recipe is not None
    lines = recipe.group(1).splitlines()
    build = next(i for i, line in enumerate(lines) if "sam build" in line)
    assert any("sam/precompile.py" in line and ".aws-sam/build/*/" in line for line in lines[build + 1:])
