"""Nothing is built at import: importing any module under ``services/`` reads no config, opens
no store, creates no file or folder and validates no environment. Settings are read, and apps
built, only by the composition roots (``create_app``, ``app_factory``, ``__main__``)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from unittest.mock import AsyncMock

import pytest
from cryptography.fernet import Fernet

from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from services.store import crypto

ROOT = Path(__file__).resolve().parents[2]

IMPORT_EVERYTHING = """
import importlib, json, pkgutil, sys
import services

failed, imported = {}, []
for info in pkgutil.walk_packages(services.__path__, "services."):
    try:
        importlib.import_module(info.name)
        imported.append(info.name)
    except BaseException as exc:  # SystemExit too: a module must not stop the process at import
        failed[info.name] = f"{type(exc).__name__}: {exc}"
print(json.dumps({"imported": imported, "failed": failed}))
"""

#: An environment in which building any service would fail: the public can reach it while the
#: signing secrets are the development ones, its database does not answer, its config is missing.
HOSTILE = {
    "PUBLIC_BASE_URL": "https://police.example.uk",
    "DATABASE_URL": "postgresql+psycopg://mecc:mecc@127.0.0.1:9/unreachable",
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
    "ROUTING_CONFIG_DIR": "/nonexistent/routing",
    "ACCESS_CONFIG": "/nonexistent/access.yaml",
}


def _local() -> set[str]:
    """What is in the checkout's ``.local`` (faust's data folders in full; elsewhere the top level:
    a broker or database the session started keeps writing below it)."""
    local = ROOT / ".local"
    if not local.exists():
        return set()
    return {p.name for p in local.iterdir()} | {str(p) for p in (local / "faust").rglob("*")}


def test_importing_every_service_module_builds_nothing(tmp_path: Path) -> None:
    work = tmp_path / "cwd"
    work.mkdir()
    local_before = _local()
    root_before = {p.name for p in ROOT.iterdir()}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "DATABASE_", "STORE_"))}
    env.update(HOSTILE, PYTHONPATH=str(ROOT), HOME=str(tmp_path))

    done = subprocess.run([sys.executable, "-c", IMPORT_EVERYTHING], cwd=work, env=env, capture_output=True,
                          text=True, timeout=120, check=False)

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["failed"] == {}
    # The walk reached the composition roots and the entry points, not just the packages.
    assert {"services.intake.app", "services.router.app", "services.feedback.app", "services.intake.__main__",
            "services.router.__main__", "services.feedback.__main__"} <= set(result["imported"])
    assert list(work.iterdir()) == []
    assert _local() == local_before
    assert {p.name for p in ROOT.iterdir()} == root_before


def test_create_app_masks_logs_and_hands_the_store_its_key(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """However the intake is started (uvicorn's factory included), its log lines are masked and
    the store encrypts with the configured key, not the development one."""
    key = Fernet.generate_key()
    settings = IntakeSettings(database_url=f"sqlite:///{tmp_path}/store.db", store_encryption_key=key.decode(),
                              log_json=True)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        create_app(settings, publisher=AsyncMock())
        logging.getLogger("any.library").warning("texting 07700 900123 at someone@example.com")
        token = crypto.encrypt("Jo Bloggs")
    finally:
        crypto.configure("")
        root.handlers[:], root.level = handlers, level
    line = capsys.readouterr().err
    assert "07700" not in line and "someone@" not in line and "[phone]" in line
    assert Fernet(key).decrypt(token.encode()) == b"Jo Bloggs"


def test_the_intake_imports_nothing_from_the_router() -> None:
    # routing facts are stored with each decision; what both need (redaction, postcodes) is in services.common
    import ast
    from pathlib import Path

    intake = Path(__file__).resolve().parents[2] / "services" / "intake"
    imported = {
        (path.name, node.module if isinstance(node, ast.ImportFrom) else alias.name)
        for path in intake.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert {(f, m) for f, m in imported if m and m.startswith("services.router")} == set()
