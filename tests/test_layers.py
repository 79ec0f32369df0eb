"""The layers of the repository: the package stands alone; the demo, scripts and benchmarks
build on the package (its ``testkit`` included), never on the test suite."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: What each folder must not reach: by import, or by naming a module or file to run.
FORBIDDEN = {
    "flask_industry_auth": ("tests", "examples", "scripts", "benchmarks"),
    "examples": ("tests", "scripts", "benchmarks"),
    "scripts": ("tests",),
    "benchmarks": ("tests",),
}


def _imports(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def _names(tree: ast.AST):
    """String constants that name a module or a path (``"tests.worker_app"``, ``"tests"``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def _reaches(name: str, top: str) -> bool:
    return name == top or name.startswith((f"{top}.", f"{top}/"))


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_a_layer_does_not_reach_the_layers_above(folder):
    files = sorted((ROOT / folder).rglob("*.py"))
    assert files
    found = []
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for top in FORBIDDEN[folder]:
            found += [
                f"{path.relative_to(ROOT)}:{line}: import {name}"
                for line, name in _imports(tree)
                if _reaches(name, top)
            ]
            found += [
                f"{path.relative_to(ROOT)}:{line}: {value!r}"
                for line, value in _names(tree)
                if _reaches(value, top)
            ]
    assert not found, "\n".join(found)


def test_the_check_sees_an_import_of_the_tests():
    tree = ast.parse("from tests.helpers import VALID\nimport tests.hostapp\nx = 'tests/a.py'\n")
    assert [n for _, n in _imports(tree) if _reaches(n, "tests")] == [
        "tests.helpers",
        "tests.hostapp",
    ]
    assert [v for _, v in _names(tree) if _reaches(v, "tests")] == ["tests/a.py"]
