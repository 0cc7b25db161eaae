"""Stoplight Prism, a mock server that serves an OpenAPI description and rejects requests that break it.

The contract tests point the real ``twilio`` and ``sendgrid`` clients at Prism serving the providers'
own API descriptions (``contracts/`` in this repository), so a request the project sends that the provider does not
document fails the test. Prism comes from npm, installed into ``.local/node`` (never globally)::

    python -m infra.prism install           # once; does nothing when this version is already there
    python -m infra.prism serve SPEC [--port N]
    python -m infra.prism path              # where the prism executable is

In code::

    with serve(Path("contracts/twilio/twilio_api_v2010.json")) as base_url:
        ...  # http://127.0.0.1:PORT
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from infra.node import NODE_PREFIX, install_lock, installed_version, npm_available, npm_install
from infra.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "@stoplight/prism-cli"
#: Pinned: a newer Prism may validate differently, which would change what the contract tests prove.
PRISM_VERSION = "5.16.0"


class PrismUnavailable(RuntimeError):
    """Prism is not installed and cannot be (no npm on this machine)."""


def prism_bin() -> Path:
    """Where the ``prism`` executable is once installed (it may not exist yet)."""
    return NODE_PREFIX / "node_modules" / ".bin" / "prism"


def is_installed() -> bool:
    return installed_version(PACKAGE) == PRISM_VERSION and prism_bin().exists()


def install(*, force: bool = False, quiet: bool = False) -> Path:
    """Install the pinned Prism into ``.local/node`` with npm, unless that version is already there."""
    if not force and is_installed():
        return prism_bin()
    if not npm_available():
        raise PrismUnavailable("npm and node are needed to install Stoplight Prism (apt-get install npm)")
    with install_lock():
        if not force and is_installed():
            return prism_bin()
        # Prism's tree has an install script that only sends analytics: it is not run.
        npm_install([f"{PACKAGE}@{PRISM_VERSION}"], env={"SCARF_ANALYTICS": "false"}, quiet=quiet)
        if not is_installed():
            raise RuntimeError(f"{PACKAGE}@{PRISM_VERSION} is not in {NODE_PREFIX} after npm install")
    return prism_bin()


def ensure_prism() -> Path:
    """The ``prism`` executable, installing the pinned version first if it is missing."""
    return prism_bin() if is_installed() else install(quiet=True)


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@contextlib.contextmanager
def serve(spec: Path, port: int | None = None, *, host: str = "127.0.0.1", errors: bool = True,
          startup_timeout: float = 60.0, log_path: Path | None = None) -> Iterator[str]:
    """Run ``prism mock SPEC`` (static mode) until the block ends; yields its base URL.

    Requests that break the description are refused (422, or the 4xx the description gives);
    ``errors`` (``--errors``) also turns Prism's own response-validation violations into errors.
    Prism's log goes to ``log_path`` (a temporary file by default) and is quoted if it fails to start.
    """
    spec = Path(spec).resolve()
    if not spec.is_file():
        raise FileNotFoundError(spec)
    executable = ensure_prism()
    port = port or free_port(host)
    command = [str(executable), "mock", str(spec), "--host", host, "--port", str(port)]
    if errors:
        command.append("--errors")
    with contextlib.ExitStack() as stack:
        log: IO[bytes]
        if log_path is None:
            log = stack.enter_context(tempfile.NamedTemporaryFile(prefix=f"prism-{port}-", suffix=".log"))
        else:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log = stack.enter_context(log_path.open("wb"))
        env = {**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"}
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)
        stack.callback(_stop, proc)
        deadline = time.monotonic() + startup_timeout
        while not _answers(host, port):
            if proc.poll() is not None or time.monotonic() >= deadline:
                with open(log.name, "rb") as f:
                    tail = f.read()[-4000:].decode("utf-8", errors="replace")
                state = f"exited with {proc.returncode}" if proc.poll() is not None else (
                    f"did not answer within {startup_timeout}s")
                raise RuntimeError(f"prism mock {spec.name} on port {port} {state}:\n{tail}")
            time.sleep(0.05)
        yield f"http://{host}:{port}"


def main(argv: Sequence[str] | None = None) -> int:
    summary = (__doc__ or "").split("\n\n")[0]
    parser = argparse.ArgumentParser(prog="python -m infra.prism", description=summary)
    commands = parser.add_subparsers(dest="command", required=True)
    install_cmd = commands.add_parser("install", help=f"install {PACKAGE}@{PRISM_VERSION} into .local/node")
    install_cmd.add_argument("--force", action="store_true")
    commands.add_parser("path", help="print the prism executable's path")
    serve_cmd = commands.add_parser("serve", help="serve an OpenAPI file until interrupted")
    serve_cmd.add_argument("spec", type=Path)
    serve_cmd.add_argument("--port", type=int, default=4010)
    args = parser.parse_args(argv)

    if args.command == "install":
        already = not args.force and is_installed()
        path = install(force=args.force)
        print(f"{PACKAGE}@{PRISM_VERSION} {'already installed' if already else 'installed'}: {path}")
    elif args.command == "path":
        print(prism_bin())
        return 0 if is_installed() else 1
    elif args.command == "serve":
        with serve(args.spec, args.port) as url:
            print(f"{args.spec.name} served at {url}; Ctrl-C to stop", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
