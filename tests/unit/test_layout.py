"""Who may import whom: the shipped packages (schemas, services, infra) import neither the tests
nor the harness, which the wheel does not hold; the benchmarks and the harness do not import the
tests (what they share with them lives in ``harness``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


#: Run in a fresh interpreter: CPython 3.11's ``ast.parse`` is not safe while another thread of
#: the test process prints a traceback (which parses source lines to place its carets), and
#: fails with "AST constructor recursion depth mismatch".
SCAN = """
import ast, json, sys
from pathlib import Path
root, package = Path(sys.argv[1]), sys.argv[2]
found = {}
for path in sorted((root / package).rglob("*.py")):
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    found[str(path.relative_to(root))] = sorted(names)
print(json.dumps(found))
"""


def imported(package: str) -> dict[str, set[str]]:
    """Top-level package of every absolute import, per file under ``package``."""
    scan = subprocess.run([sys.executable, "-c", SCAN, str(ROOT), package], capture_output=True, text=True,
                          check=True)
    return {path: set(names) for path, names in json.loads(scan.stdout).items()}


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
