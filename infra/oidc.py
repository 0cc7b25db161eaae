"""A local OpenID Connect provider for staff and volunteer sign-in, started by the project.

The certified Node ``oidc-provider`` from npm (pinned below), installed into ``.local/node`` like
Prism and govuk-frontend, runs ``infra/oidc/provider.mjs`` on loopback with the local accounts in
``infra/oidc/users.json`` (one per role: their usernames and passwords are in the README) and one
client, the intake (authorization code with PKCE)::

    python -m infra.oidc install    # once; does nothing when this version is already there
    python -m infra.oidc start      # start (installing first if needed) and wait for discovery
    python -m infra.oidc stop
    python -m infra.oidc status

``OIDC_PORT`` (default 19400), ``OIDC_HOME_DIR`` (pid and log files), ``OIDC_REDIRECT_URIS``
(comma-separated; default the intake's ``http://127.0.0.1:$INTAKE_PORT/sign-in/callback``) and
``OIDC_CLIENT_SECRET`` configure it. Development and tests only: a deployment uses the force's own
identity provider, configured in the intake's settings (``OIDC_ISSUER`` and friends).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from infra.children import alive, children
from infra.node import NODE_PREFIX, install_lock, installed_version, npm_available, npm_install
from infra.ports import port_open

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent / "oidc"
PACKAGE = "oidc-provider"
#: Pinned: the provider's behaviour (PKCE rules, token formats) is part of what the sign-in tests prove.
OIDC_PROVIDER_VERSION = "9.13.3"
DEFAULT_HOME = ROOT / ".local" / "oidc"
#: The intake's client at the local provider; the secret is for local runs and tests only.
CLIENT_ID = "mecc-intake"
DEVELOPMENT_CLIENT_SECRET = "local-development-client-secret-not-for-deployment"


class OidcUnavailable(RuntimeError):
    """oidc-provider is not installed and cannot be (no npm on this machine)."""


def is_installed() -> bool:
    return installed_version(PACKAGE) == OIDC_PROVIDER_VERSION


def install(*, force: bool = False, quiet: bool = False) -> None:
    """Install the pinned oidc-provider into ``.local/node`` with npm, unless that version is there."""
    if not force and is_installed():
        return
    if not npm_available():
        raise OidcUnavailable("npm and node are needed to install oidc-provider (apt-get install npm)")
    with install_lock():
        if not force and is_installed():
            return
        npm_install([f"{PACKAGE}@{OIDC_PROVIDER_VERSION}"], quiet=quiet)
        if not is_installed():
            raise RuntimeError(f"{PACKAGE}@{OIDC_PROVIDER_VERSION} is not in {NODE_PREFIX} after npm install")


def _default_redirects() -> tuple[str, ...]:
    if env := os.environ.get("OIDC_REDIRECT_URIS"):
        return tuple(u for u in env.split(",") if u)
    return (f"http://127.0.0.1:{os.environ.get('INTAKE_PORT', '8000')}/sign-in/callback",)


@dataclass(frozen=True)
class OidcProvider:
    port: int = 19400
    home: Path = DEFAULT_HOME
    redirect_uris: tuple[str, ...] = field(default_factory=_default_redirects)
    client_id: str = CLIENT_ID
    client_secret: str = DEVELOPMENT_CLIENT_SECRET
    users: Path = HERE / "users.json"

    @classmethod
    def from_env(cls) -> OidcProvider:
        return cls(port=int(os.environ.get("OIDC_PORT", "19400")),
                   home=Path(os.environ.get("OIDC_HOME_DIR", DEFAULT_HOME)),
                   client_secret=os.environ.get("OIDC_CLIENT_SECRET", DEVELOPMENT_CLIENT_SECRET))

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.home / f"provider-{self.port}.pid"

    @property
    def log_file(self) -> Path:
        return self.home / f"provider-{self.port}.log"

    def intake_env(self) -> dict[str, str]:
        """The intake's settings that point it at this provider."""
        return {"OIDC_ISSUER": self.issuer, "OIDC_CLIENT_ID": self.client_id,
                "OIDC_CLIENT_SECRET": self.client_secret}


def _discovery_ready(issuer: str) -> bool:
    try:
        with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", timeout=2) as answer:
            return bool(json.load(answer).get("issuer") == issuer)
    except (OSError, ValueError):
        return False




def running_pid(provider: OidcProvider) -> int | None:
    try:
        pid = int(provider.pid_file.read_text())
    except (FileNotFoundError, ValueError):
        return None
    return pid if alive(pid) else None


def start(provider: OidcProvider, timeout: float = 30.0) -> str:
    """Start the provider (installing it first if needed) and wait until discovery answers; its issuer."""
    install(quiet=True)
    if running_pid(provider) and _discovery_ready(provider.issuer):
        return provider.issuer
    if port_open(provider.port):
        raise RuntimeError(f"infra.oidc: port {provider.port} is taken by something that is not our provider")
    provider.home.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "NODE_PATH": str(NODE_PREFIX / "node_modules"),
        "OIDC_PORT": str(provider.port),
        "OIDC_CLIENT_ID": provider.client_id,
        "OIDC_CLIENT_SECRET": provider.client_secret,
        "OIDC_REDIRECT_URIS": ",".join(provider.redirect_uris),
        "OIDC_USERS": str(provider.users),
        "OIDC_COOKIE_KEY": os.environ.get("OIDC_COOKIE_KEY", "local-development-only"),
        "NODE_ENV": "development",
    }
    # ES modules ignore NODE_PATH: run the script from a copy beside .local/node/node_modules.
    script = NODE_PREFIX / "oidc-provider.mjs"
    script.write_text((HERE / "provider.mjs").read_text("utf-8"), "utf-8")
    with provider.log_file.open("ab") as log:
        proc = subprocess.Popen(["node", str(script)], cwd=NODE_PREFIX, env=env, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    children[proc.pid] = proc
    provider.pid_file.write_text(str(proc.pid))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"infra.oidc: provider exited ({proc.returncode}):\n{_tail(provider)}")
        if _discovery_ready(provider.issuer):
            return provider.issuer
        time.sleep(0.2)
    stop(provider)
    raise RuntimeError(f"infra.oidc: provider did not answer within {timeout:.0f}s:\n{_tail(provider)}")


def _tail(provider: OidcProvider) -> str:
    try:
        return provider.log_file.read_bytes()[-3000:].decode("utf-8", errors="replace")
    except OSError:
        return ""


def stop(provider: OidcProvider, timeout: float = 10.0) -> None:
    pid = running_pid(provider)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        child = children.pop(pid, None)
        if child is not None:
            child.wait()
    provider.pid_file.unlink(missing_ok=True)


@contextlib.contextmanager
def running(provider: OidcProvider) -> Iterator[str]:
    """The provider, running until the block ends (stopped only if this started it)."""
    started = running_pid(provider) is None
    issuer = start(provider)
    try:
        yield issuer
    finally:
        if started:
            stop(provider)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.oidc", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["install", "start", "stop", "status"])
    env = OidcProvider.from_env()
    parser.add_argument("--port", type=int, default=env.port)
    args = parser.parse_args(argv)
    provider = OidcProvider(port=args.port, home=env.home, client_secret=env.client_secret)
    if args.command == "install":
        install()
        print(f"{PACKAGE}@{OIDC_PROVIDER_VERSION} installed in {NODE_PREFIX}")
    elif args.command == "start":
        print(start(provider))
    elif args.command == "stop":
        stop(provider)
    else:
        pid = running_pid(provider)
        print(f"running pid={pid} {provider.issuer}" if pid else "stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
