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
import shutil
from collections.abc import Sequence
from pathlib import Path

from infra.node import NODE_PREFIX, install_lock, installed_version, npm_available, npm_install

ROOT = Path(__file__).resolve().parent.parent
STATIC_DIR = ROOT / ".local" / "static" / "govuk"
#: Pinned: markup in services/intake/templates follows this version's components.
PACKAGES = {"govuk-frontend": "5.14.0", "playwright-core": "1.65.1"}
#: Where the intake serves the copied files; the built CSS refers to ``/assets/``.
URL_PREFIX = "/static/govuk"


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
    if not npm_available():
        raise RuntimeError("npm and node are needed for the pages' front-end (apt-get install npm)")
    with install_lock():
        if not force and is_installed():
            return STATIC_DIR
        if force or not _packages_installed():
            specs = [f"{name}@{version}" for name, version in PACKAGES.items()]
            npm_install(specs, env={"PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}, quiet=quiet)
            if not _packages_installed():
                raise RuntimeError(f"{' '.join(specs)} not in {NODE_PREFIX} after npm install")
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
