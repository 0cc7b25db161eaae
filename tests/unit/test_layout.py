"""Who may import whom: the shipped packages (schemas, services, infra) import neither the tests
nor the harness, which the wheel does not hold; the benchmarks and the harness do not import the
tests (what they share with them lives in ``harness``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported(package: str) -> dict[str, set[str]]:
    """Top-level package of every absolute import, per file under ``package``."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize(("package", "forbidden"), [
    ("schemas", {"tests", "harness", "bench"}),
    ("services", {"tests", "harness", "bench"}),
    ("infra", {"tests", "harness", "bench"}),
    ("harness", {"tests", "bench"}),
    ("bench", {"tests"}),
])
def test_packages_import_only_what_they_may(package: str, forbidden: set[str]) -> None:
    wrong = {path: sorted(names & forbidden) for path, names in imported(package).items() if names & forbidden}
    assert wrong == {}
