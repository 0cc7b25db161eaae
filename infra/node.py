"""npm packages the project needs (Prism, govuk-frontend, playwright-core), installed into
``.local/node``: never globally, never at run time, one installer at a time."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_PREFIX = ROOT / ".local" / "node"


def npm_available() -> bool:
    return shutil.which("npm") is not None and shutil.which("node") is not None


def installed_version(package: str) -> str | None:
    """The version of ``package`` in ``.local/node``, or None if it is not there."""
    try:
        manifest = json.loads((NODE_PREFIX / "node_modules" / package / "package.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    version = manifest.get("version")
    return version if isinstance(version, str) else None


@contextmanager
def install_lock() -> Iterator[None]:
    """Two test runs may start at once: one installs, the other waits and then finds it done."""
    NODE_PREFIX.mkdir(parents=True, exist_ok=True)
    with (NODE_PREFIX / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def npm_install(specs: Sequence[str], *, env: dict[str, str] | None = None, quiet: bool = False) -> None:
    """``npm install`` pinned ``specs`` into ``.local/node`` (call it holding ``install_lock``).
    Install scripts are not run: none of our packages needs one."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed (apt-get install npm)")
    command = [npm, "install", "--prefix", str(NODE_PREFIX), "--save-exact", "--no-audit", "--no-fund",
               "--ignore-scripts", "--loglevel", "error", *specs]
    result = subprocess.run(command, env={**os.environ, "DO_NOT_TRACK": "1", **(env or {})}, cwd=NODE_PREFIX,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    if not quiet and result.stdout.strip():
        print(result.stdout.strip(), file=sys.stderr)
    if result.returncode != 0:
        raise RuntimeError(f"installing {' '.join(specs)} failed ({result.returncode}):\n{result.stdout[-4000:]}")
