"""A throw-away PostgreSQL server for tests (Debian's ``postgresql`` package).

``PostgresServer`` runs ``initdb``/``pg_ctl`` in a fresh temporary directory, listening on a
free TCP port of 127.0.0.1 with password authentication, and removes everything on
``stop()``. PostgreSQL refuses to run as root, so as root the commands run as the
``postgres`` system user (``runuser``). ``unavailable_reason()`` says why the server or the
JDBC driver cannot be used here, so tests can skip with a message that says how to fix it.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

JDBC_JAR = "/usr/share/java/postgresql.jar"
INSTALL_HINT = ("install them with `apt-get install -y postgresql libpostgresql-jdbc-java` "
                "(.ci/run does this when run as root)")


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def unavailable_reason() -> str | None:
    """None when a server can be started and the JDBC driver exists, else why not and how to fix it."""
    if _bin_dir() is None:
        return f"PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb) not found; {INSTALL_HINT}"
    if not Path(JDBC_JAR).exists():
        return f"PostgreSQL JDBC driver {JDBC_JAR} not found; {INSTALL_HINT}"
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run the server as"
        if shutil.which("runuser") is None:
            return "running as root and `runuser` is missing (util-linux)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'psycopg[binary]')"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """Start with ``start()``, stop with ``stop()`` (or use as a context manager)."""

    user = "scim"
    password = "scim-test-password"
    database = "crm"

    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.port = _free_port()
        self.base = Path(tempfile.mkdtemp(prefix="scim-pg-"))
        self.data = self.base / "data"
        self.socket_dir = self.base / "sock"
        self._as_root = os.geteuid() == 0

    # -- process control ------------------------------------------------------------------
    def _run(self, *args: str) -> str:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self._as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout}")
        return proc.stdout

    def start(self) -> "PostgresServer":
        self.socket_dir.mkdir()
        pwfile = self.base / "pw"
        pwfile.write_text(self.password + "\n")
        if self._as_root:
            shutil.chown(self.base, "postgres")
            shutil.chown(self.socket_dir, "postgres")
            shutil.chown(pwfile, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", self.user, f"--pwfile={pwfile}", "--auth-host=scram-sha-256",
                  "--auth-local=trust", "--encoding=UTF8", "--no-locale")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.base / "server.log"), "-w", "-t", "60",
                  "-o", f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        self.execute(f"CREATE DATABASE {self.database}", database="postgres", autocommit=True)
        return self

    def stop(self) -> None:
        try:
            if self.data.exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> "PostgresServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- access -------------------------------------------------------------------------------
    @property
    def jdbc_url(self) -> str:
        return f"jdbc:postgresql://127.0.0.1:{self.port}/{self.database}"

    def conninfo(self, database: str | None = None) -> str:
        return (f"host=127.0.0.1 port={self.port} dbname={database or self.database} user={self.user} "
                f"password={self.password}")

    def env(self) -> dict[str, str]:
        """The SCIM_CRM_JDBC_* variables for this server."""
        return {"SCIM_CRM_JDBC_URL": self.jdbc_url, "SCIM_CRM_JDBC_USER": self.user,
                "SCIM_CRM_JDBC_PASSWORD": self.password}

    def execute(self, sql: str, params=None, database: str | None = None, autocommit: bool = False) -> None:
        import psycopg

        with psycopg.connect(self.conninfo(database), autocommit=autocommit) as conn:
            conn.execute(sql, params)
