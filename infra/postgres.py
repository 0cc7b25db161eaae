"""A local PostgreSQL cluster owned by the project, for development, tests and CI.

No Docker engine is needed: Debian's PostgreSQL server binaries
(``/usr/lib/postgresql/<version>/bin``, highest version wins) run a private cluster
that listens on ``127.0.0.1:<port>`` only. The system's ``main`` cluster (port 5432)
is never used or touched.

    python -m infra.postgres start   # install (root), initdb, start, create role+db; print URL
    python -m infra.postgres stop
    python -m infra.postgres status  # exit 0 if running, 1 if not
    python -m infra.postgres url     # print the SQLAlchemy URL without starting anything

All commands accept ``--port`` (default 15432). Files live in ``<repo>/.local/postgres``:
``data-<port>/`` (the cluster), ``run-<port>/`` (unix socket), ``postgres-<port>.log``.
initdb and postgres refuse to run as root, so as root the cluster is owned by and run as
the ``postgres`` system user; if that user cannot reach the repository, the files go to
``/var/tmp/mecc-postgres-<port>`` instead.

From Python (e.g. a pytest fixture)::

    from infra.postgres import create_database, ensure_postgres
    url = create_database(ensure_postgres(), "mecc_test")
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import logging
import os
import pwd
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from infra.ports import port_open

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 15432
DEFAULT_DB = "mecc"
ROLE = "mecc"
PASSWORD = "mecc"
SUPERUSER = "postgres"  # the cluster's bootstrap superuser (initdb -U); unix socket only
SYSTEM_USER = "postgres"  # Debian's system account that runs the cluster when we are root
APT_HINT = "sudo apt-get update && sudo apt-get install -y postgresql"

log = logging.getLogger(__name__)


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be provided here (binaries missing and not root, ownership clash...)."""


@dataclass(frozen=True)
class Layout:
    """Where one cluster's files live and which OS user runs it."""

    base: Path
    port: int
    run_as: str | None  # None: the current user; else a system user name (we are root)

    @property
    def data(self) -> Path:
        return self.base / f"data-{self.port}"

    @property
    def log_file(self) -> Path:
        return self.base / f"postgres-{self.port}.log"

    @property
    def lock_file(self) -> Path:
        return self.base / f".lock-{self.port}"

    @property
    def socket_dir(self) -> Path:
        sock = self.base / f"run-{self.port}"
        # sun_path is 108 bytes including the NUL: deep checkouts need a shorter socket path.
        if len(os.fsencode(sock / f".s.PGSQL.{self.port}")) < 100:
            return sock
        return Path(tempfile.gettempdir()) / f"mecc-pg-{os.getuid()}-{self.port}"


def postgres_url(port: int = DEFAULT_PORT, dbname: str = DEFAULT_DB) -> str:
    """The SQLAlchemy URL of database ``dbname`` on the project cluster (nothing is started)."""
    return f"postgresql+psycopg://{ROLE}:{PASSWORD}@127.0.0.1:{port}/{dbname}"


def _libpq_url(url: str) -> str:
    """Turn a SQLAlchemy URL (``postgresql+psycopg://``) into one libpq accepts."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql"))


def _with_dbname(url: str, dbname: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{dbname}"))


# --- binaries -------------------------------------------------------------------------------


def _version_key(bindir: Path) -> tuple[int, ...]:
    """``/usr/lib/postgresql/15/bin`` -> (15,)"""
    return tuple(int(n) for n in re.findall(r"\d+", bindir.parent.name))


def _find_bindir(prefer_version: str | None = None) -> Path | None:
    """Debian's server bin dir (highest version, or the one a data dir was made with)."""
    candidates = [
        b.parent
        for b in Path("/usr/lib/postgresql").glob("*/bin/initdb")
        if (b.parent / "pg_ctl").exists()
    ]
    if prefer_version:
        for bindir in candidates:
            if bindir.parent.name == prefer_version:
                return bindir
    if candidates:
        return max(candidates, key=_version_key)
    # Not Debian (e.g. Homebrew, a distro that puts initdb on PATH).
    initdb = shutil.which("initdb")
    if initdb and (Path(initdb).parent / "pg_ctl").exists():
        return Path(initdb).parent
    return None


def _install_server() -> None:
    if os.geteuid() != 0:
        raise PostgresUnavailable(
            "PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb).\n"
            f"Install them with:  {APT_HINT}\n"
            "then run again (the project's own cluster does not need root)."
        )
    log.warning("PostgreSQL server not installed: running apt-get install -y postgresql")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update"], check=True, env=env, stdin=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "postgresql"], check=True, env=env, stdin=subprocess.DEVNULL
    )


def _bindir(layout: Layout) -> Path:
    version_file = layout.data / "PG_VERSION"
    prefer = version_file.read_text().strip() if version_file.exists() else None
    bindir = _find_bindir(prefer)
    if bindir is None:
        _install_server()
        bindir = _find_bindir(prefer)
        if bindir is None:
            raise PostgresUnavailable("apt-get install postgresql did not provide initdb/pg_ctl")
    return bindir


# --- layout and running as the right user ---------------------------------------------------


def _can_reach(user: str, path: Path) -> bool:
    """Whether ``user`` can traverse every directory down to ``path``."""
    return _run_as(user, ["test", "-x", str(path)], check=False).returncode == 0


def _layout(port: int) -> Layout:
    primary = ROOT / ".local" / "postgres"
    fallback = Path(f"/var/tmp/mecc-postgres-{port}")
    if os.geteuid() != 0:
        return Layout(primary, port, None)
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        _install_server()  # the Debian package creates the postgres user
    for base in (primary, fallback):  # an existing cluster wins, so the choice is stable
        if (base / f"data-{port}" / "PG_VERSION").exists():
            return Layout(base, port, SYSTEM_USER)
    # Directories we create get 0755, so it is enough that the deepest existing one is reachable.
    existing = next(p for p in (primary, *primary.parents) if p.exists())
    if _can_reach(SYSTEM_USER, existing):
        return Layout(primary, port, SYSTEM_USER)
    log.warning("user %s cannot traverse %s; using %s", SYSTEM_USER, existing, fallback)
    return Layout(fallback, port, SYSTEM_USER)


def _run_as(
    user: str | None, cmd: Sequence[str], *, check: bool = True, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    argv = list(cmd)
    if user is not None:
        if shutil.which("runuser"):
            argv = ["runuser", "-u", user, "--", *argv]
        else:
            argv = ["su", user, "-s", "/bin/sh", "-c", shlex.join(argv)]
    proc = subprocess.run(
        argv,
        cwd=cwd or tempfile.gettempdir(),  # the postgres user may not be able to read our cwd
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    if check and proc.returncode != 0:
        raise PostgresUnavailable(
            f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout}{proc.stderr}"
        )
    return proc


def _mkdir(path: Path, layout: Layout, mode: int = 0o755) -> None:
    """Create ``path`` (and parents) and, as root, hand it to the user that runs the cluster."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    for p in missing:
        p.chmod(0o755)  # a restrictive umask must not block the postgres user
    path.chmod(mode)
    if layout.run_as is not None:
        pw = pwd.getpwnam(layout.run_as)
        os.chown(path, pw.pw_uid, pw.pw_gid)


def _owner_uid(layout: Layout) -> int:
    return pwd.getpwnam(layout.run_as).pw_uid if layout.run_as else os.getuid()


@contextlib.contextmanager
def _locked(layout: Layout) -> Iterator[None]:
    """Serialise set-up between processes (e.g. pytest-xdist workers)."""
    _mkdir(layout.base, layout)
    with open(layout.lock_file, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --- cluster --------------------------------------------------------------------------------


def _running_pid(layout: Layout) -> int | None:
    """The postmaster pid if the cluster's postmaster.pid names a live process."""
    try:
        pid = int((layout.data / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, owned by another user
    return pid


def _initdb(layout: Layout, bindir: Path) -> None:
    data = layout.data
    if data.exists():
        st = data.stat()
        if st.st_uid != _owner_uid(layout):
            raise PostgresUnavailable(
                f"{data} belongs to uid {st.st_uid}, not to the user that would run it "
                f"(uid {_owner_uid(layout)}); run as that user or remove the directory"
            )
        if any(data.iterdir()):
            raise PostgresUnavailable(f"{data} is not empty but has no PG_VERSION; remove it")
    _mkdir(data, layout, mode=0o700)
    log.info("initdb %s", data)
    _run_as(
        layout.run_as,
        [
            str(bindir / "initdb"),
            "-D", str(data),
            "-U", SUPERUSER,
            "-E", "UTF8",
            "--locale=C",
            "--no-sync",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
        ],
        cwd=layout.base,
    )
    # Local socket: trust (the socket dir is 0700, so only its owner and root get in).
    # TCP: loopback only, password (SCRAM) auth.
    (data / "pg_hba.conf").write_text(
        "# written by infra/postgres.py\n"
        "local   all  all                 trust\n"
        "host    all  all  127.0.0.1/32   scram-sha-256\n"
    )
    with open(data / "postgresql.conf", "a") as conf:
        conf.write(
            "\n# --- infra/postgres.py ---\n"
            "listen_addresses = '127.0.0.1'\n"
            f"port = {layout.port}\n"
            f"unix_socket_directories = '{layout.socket_dir}'\n"
            "unix_socket_permissions = 0700\n"
            "max_connections = 200\n"
            "password_encryption = 'scram-sha-256'\n"
            # Throwaway dev/test cluster: trade crash safety for speed. A power cut or
            # OS crash may corrupt it; never use these settings for real data.
            "fsync = off\n"
            "synchronous_commit = off\n"
            "full_page_writes = off\n"
            "log_min_messages = warning\n"
            "log_min_duration_statement = -1\n"
        )
    if layout.run_as is not None:
        pw = pwd.getpwnam(layout.run_as)
        for name in ("pg_hba.conf", "postgresql.conf"):
            os.chown(data / name, pw.pw_uid, pw.pw_gid)


def _start(layout: Layout, bindir: Path, timeout: int = 60) -> None:
    if port_open(layout.port):
        raise PostgresUnavailable(
            f"127.0.0.1:{layout.port} is already in use by another process; pick another --port"
        )
    _mkdir(layout.socket_dir, layout, mode=0o700)
    if layout.run_as is not None and not layout.log_file.exists():
        layout.log_file.touch()
        pw = pwd.getpwnam(layout.run_as)
        os.chown(layout.log_file, pw.pw_uid, pw.pw_gid)
    log.info("starting postgres on 127.0.0.1:%d (log %s)", layout.port, layout.log_file)
    proc = _run_as(
        layout.run_as,
        [
            str(bindir / "pg_ctl"), "start", "-w", "-t", str(timeout),
            "-D", str(layout.data), "-l", str(layout.log_file),
            # The socket directory of this checkout, over the one written at initdb: a cluster
            # made by a checkout that has since moved still starts.
            "-o", f"-k {shlex.quote(str(layout.socket_dir))}",
        ],
        check=False,
        cwd=layout.base,
    )
    if proc.returncode != 0:
        tail = "".join(layout.log_file.read_text(errors="replace").splitlines(True)[-20:])
        raise PostgresUnavailable(
            f"pg_ctl start failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}\n"
            f"--- {layout.log_file} ---\n{tail}"
        )


def _ensure_role_and_db(layout: Layout, dbname: str) -> None:
    with psycopg.connect(
        host=str(layout.socket_dir), port=layout.port, user=SUPERUSER, dbname="postgres",
        autocommit=True, connect_timeout=10,
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ROLE,)).fetchone()
        verb = "ALTER" if exists else "CREATE"
        conn.execute(
            sql.SQL("{} ROLE {} LOGIN CREATEDB PASSWORD {}").format(
                sql.SQL(verb), sql.Identifier(ROLE), sql.Literal(PASSWORD)
            )
        )
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone():
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(dbname), sql.Identifier(ROLE)
                )
            )


def _url_works(url: str) -> bool:
    try:
        with psycopg.connect(_libpq_url(url), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def ensure_postgres(port: int = DEFAULT_PORT, dbname: str = DEFAULT_DB) -> str:
    """Make sure the project cluster runs on ``127.0.0.1:port`` and return the URL of ``dbname``.

    Installs the server with apt when missing (root only), initdb's on first use, starts it
    and creates role ``mecc``/``mecc`` and the database. Idempotent; when the cluster is
    already up and the database reachable it returns after one connection.
    Raises :class:`PostgresUnavailable` with an explanation when it cannot.
    """
    url = postgres_url(port, dbname)
    layout = _layout(port)
    if _running_pid(layout) is not None and _url_works(url):
        return url
    with _locked(layout):
        bindir = _bindir(layout)
        if not (layout.data / "PG_VERSION").exists():
            _initdb(layout, bindir)
        if _running_pid(layout) is None:
            _start(layout, bindir)
        _ensure_role_and_db(layout, dbname)
    return url


def stop_postgres(port: int = DEFAULT_PORT, timeout: int = 60) -> bool:
    """Stop the project cluster (``pg_ctl stop -m fast``). Returns False if it was not running."""
    layout = _layout(port)
    if _running_pid(layout) is None:
        return False
    bindir = _bindir(layout)
    log.info("stopping postgres on port %d", port)
    _run_as(
        layout.run_as,
        [str(bindir / "pg_ctl"), "stop", "-w", "-t", str(timeout), "-m", "fast",
         "-D", str(layout.data)],
        cwd=layout.base,
    )
    return True


def postgres_status(port: int = DEFAULT_PORT) -> int | None:
    """The postmaster pid of the project cluster on ``port``, or None when it is not running."""
    return _running_pid(_layout(port))


_DROP = "DROP DATABASE IF EXISTS {} WITH (FORCE)"


@contextlib.contextmanager
def _admin_connection(url: str) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    """An autocommit connection to the ``postgres`` maintenance db as the URL's user."""
    admin = _with_dbname(_libpq_url(url), "postgres")
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        yield conn


def create_database(url: str, name: str) -> str:
    """(Re)create an empty database ``name`` owned by the URL's user; return its URL.

    Any existing database of that name is dropped first (connections to it are terminated),
    which gives each test session an isolated database.
    """
    with _admin_connection(url) as conn:
        conn.execute(sql.SQL(_DROP).format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return _with_dbname(url, name)


def drop_database(url: str, name: str) -> None:
    """Drop database ``name`` (if it exists) on the server ``url`` points at."""
    with _admin_connection(url) as conn:
        conn.execute(sql.SQL(_DROP).format(sql.Identifier(name)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.postgres", description="Run the project's own PostgreSQL cluster."
    )
    parser.add_argument("command", choices=["start", "stop", "status", "url"])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--dbname", default=DEFAULT_DB)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="infra.postgres: %(message)s", stream=sys.stderr)

    try:
        if args.command == "start":
            t0 = time.monotonic()
            url = ensure_postgres(args.port, args.dbname)
            log.info("ready in %.2fs", time.monotonic() - t0)
            print(url)
        elif args.command == "stop":
            if not stop_postgres(args.port):
                log.info("not running on port %d", args.port)
        elif args.command == "status":
            layout = _layout(args.port)
            pid = _running_pid(layout)
            if pid is None:
                print(f"stopped (data dir {layout.data})")
                return 1
            url = postgres_url(args.port, args.dbname)
            print(f"running pid={pid} data={layout.data} url={url}")
        else:
            print(postgres_url(args.port, args.dbname))
    except PostgresUnavailable as exc:
        print(f"infra.postgres: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
