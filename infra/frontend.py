"""The pages' front-end packages from npm, installed into ``.local/node`` (never globally, never at
run time), like ``infra.prism``:

- ``govuk-frontend``: the GOV.UK Design System's built CSS and images, copied to
  ``.local/static/govuk`` where the intake serves them at ``/static/govuk``;
- ``playwright-core``: drives the machine's Chromium in the browser tests (it downloads no browser).

    python -m infra.frontend install    # once; does nothing when these versions are already there
    python -m infra.frontend path       # where the static files are
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_PREFIX = ROOT / ".local" / "node"
STATIC_DIR = ROOT / ".local" / "static" / "govuk"
#: Pinned: markup in services/intake/templates follows this version's components.
PACKAGES = {"govuk-frontend": "5.14.0", "playwright-core": "1.65.1"}
#: Where the intake serves the copied files; the built CSS refers to ``/assets/``.
URL_PREFIX = "/static/govuk"


def installed_version(package: str) -> str | None:
    try:
        manifest = json.loads((NODE_PREFIX / "node_modules" / package / "package.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    version = manifest.get("version")
    return version if isinstance(version, str) else None


def _packages_installed() -> bool:
    return all(installed_version(name) == version for name, version in PACKAGES.items())


def _stamp() -> Path:
    return STATIC_DIR / ".version"


def is_installed() -> bool:
    try:
        copied = _stamp().read_text("utf-8").strip()
    except OSError:
        return False
    return _packages_installed() and copied == PACKAGES["govuk-frontend"]


def copy_static() -> Path:
    """Copy govuk-frontend's built CSS and assets to ``STATIC_DIR``, pointing the CSS's asset URLs
    at where the intake serves them."""
    dist = NODE_PREFIX / "node_modules" / "govuk-frontend" / "dist" / "govuk"
    if STATIC_DIR.exists():
        shutil.rmtree(STATIC_DIR)
    STATIC_DIR.mkdir(parents=True)
    css = (dist / "govuk-frontend.min.css").read_text("utf-8")
    (STATIC_DIR / "govuk-frontend.min.css").write_text(css.replace("/assets/", f"{URL_PREFIX}/assets/"), "utf-8")
    shutil.copytree(dist / "assets", STATIC_DIR / "assets")
    _stamp().write_text(PACKAGES["govuk-frontend"], "utf-8")
    return STATIC_DIR


def install(*, force: bool = False, quiet: bool = False) -> Path:
    """npm-install the pinned packages into ``.local/node`` and copy the static files."""
    if not force and is_installed():
        return STATIC_DIR
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise RuntimeError("npm and node are needed for the pages' front-end (apt-get install npm)")
    NODE_PREFIX.mkdir(parents=True, exist_ok=True)
    # The same lock as infra.prism: both install into .local/node.
    with (NODE_PREFIX / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and is_installed():
            return STATIC_DIR
        if force or not _packages_installed():
            specs = [f"{name}@{version}" for name, version in PACKAGES.items()]
            command = [npm, "install", "--prefix", str(NODE_PREFIX), "--save-exact", "--no-audit", "--no-fund",
                       "--ignore-scripts", "--loglevel", "error", *specs]
            env = {**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1", "DO_NOT_TRACK": "1"}
            result = subprocess.run(command, env=env, cwd=NODE_PREFIX, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
            if not quiet and result.stdout.strip():
                print(result.stdout.strip(), file=sys.stderr)
            if result.returncode != 0 or not _packages_installed():
                raise RuntimeError(f"installing {' '.join(specs)} failed ({result.returncode}):\n"
                                   f"{result.stdout[-4000:]}")
        copy_static()
    return STATIC_DIR


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.frontend", description=(__doc__ or "").split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    install_cmd = commands.add_parser("install", help="install govuk-frontend and playwright-core into .local/node")
    install_cmd.add_argument("--force", action="store_true")
    commands.add_parser("path", help="print where the static files are")
    args = parser.parse_args(argv)
    if args.command == "install":
        already = not args.force and is_installed()
        path = install(force=args.force)
        print(f"{', '.join(f'{n}@{v}' for n, v in PACKAGES.items())} "
              f"{'already installed' if already else 'installed'}; static files in {path}")
        return 0
    print(STATIC_DIR)
    return 0 if is_installed() else 1


if __name__ == "__main__":
    raise SystemExit(main())
