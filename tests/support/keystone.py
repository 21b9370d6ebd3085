"""Real Keystones on loopback for tests: pip-installed, SQLite, gunicorn.

    keystone = Keystone(workdir, name="Berlin", public_url=...)
    keystone.start()      # db_sync, fernet keys of its own, bootstrap, serve
    keystone.url          # http://127.0.0.1:<port>
    keystone.stop()

The OpenStack venv (`make openstack-venv`, .cache/venv-openstack) holds
keystone of the 2026.1 series; tests skip with the reason when it is absent.
Each instance has its own database and fernet keys: tokens of one are
rejected by another, like two DCs' Keystones.
"""

from __future__ import annotations

import base64
import os
import shutil
import sqlite3
import subprocess
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

from tests.support.ports import free_port  # noqa: F401 (also the other suites' port helper)

TOP = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("OID_OPENSTACK_VENV", TOP / ".cache" / "venv-openstack"))
ADMIN_PASSWORD = "admin-secret"

# Keystone's WSGI module parses sys.argv with oslo.config: under gunicorn that
# is gunicorn's command line.  This wrapper hides it.
WSGI_WRAPPER = textwrap.dedent(
    """
    import sys
    sys.argv = sys.argv[:1]
    from keystone.server import wsgi
    application = wsgi.initialize_public_application()
    """
)


def available() -> str | None:
    """None when real Keystones can run here, else the reason they cannot."""
    if not (VENV / "bin" / "keystone-manage").exists():
        return f"no OpenStack venv at {VENV} (run `make openstack-venv`)"
    return None


def use_wal(database: Path) -> None:
    """Write-ahead logging: a request reading the database no longer makes
    another one's write fail with "database is locked" (SQLite's default
    journal blocks writers while a reader holds the file)."""
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


_MIGRATED: Path | None = None


def write_keys(repository: Path) -> None:
    """What `keystone-manage fernet_setup` (and credential_setup) writes: key 0
    (staged) and key 1 (primary), each a Fernet key, readable by this user only
    (one process start less per repository)."""
    repository.mkdir(mode=0o700, exist_ok=True)
    for index in (0, 1):
        key = repository / str(index)
        key.write_bytes(base64.urlsafe_b64encode(os.urandom(32)))
        key.chmod(0o600)


class Keystone:
    def __init__(self, workdir: Path, name: str, public_url: str | None = None, port: int | None = None):
        self.workdir = Path(workdir) / f"keystone-{name.lower()}"
        self.name = name
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.public_url = public_url or self.url
        self.password = f"{ADMIN_PASSWORD}-{name.lower()}"
        self.process: subprocess.Popen | None = None

    @property
    def config(self) -> Path:
        return self.workdir / "keystone.conf"

    def manage(self, *args: str) -> None:
        subprocess.run(
            [str(VENV / "bin" / "keystone-manage"), "--config-file", str(self.config), *args],
            check=True,
            capture_output=True,
            timeout=300,
        )

    def write_config(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "fernet-keys").mkdir(exist_ok=True)
        (self.workdir / "credential-keys").mkdir(exist_ok=True)
        self.config.write_text(
            textwrap.dedent(
                f"""
                [DEFAULT]
                log_file = {self.workdir}/keystone.log
                [database]
                connection = sqlite:///{self.workdir}/keystone.db?timeout=30
                [token]
                provider = fernet
                expiration = 3600
                [fernet_tokens]
                key_repository = {self.workdir}/fernet-keys
                # Receipts (multi-factor auth) have a key repository of their own,
                # /etc/keystone/fernet-keys by default: bootstrap fails where that
                # is missing (a machine where no Keystone was ever installed).
                [fernet_receipts]
                key_repository = {self.workdir}/fernet-keys
                [credential]
                key_repository = {self.workdir}/credential-keys
                """
            )
        )
        (self.workdir / "keystone_wsgi.py").write_text(WSGI_WRAPPER)

    def start(self) -> Keystone:
        self.write_config()
        self.migrated_database()
        use_wal(self.workdir / "keystone.db")
        write_keys(self.workdir / "fernet-keys")
        write_keys(self.workdir / "credential-keys")
        self.manage(
            "bootstrap",
            "--bootstrap-password",
            self.password,
            "--bootstrap-region-id",
            self.name,
            "--bootstrap-public-url",
            f"{self.public_url}/v3",
            # Internal: Keystone itself, for the tests' admin and service calls.
            "--bootstrap-internal-url",
            f"{self.url}/v3",
        )
        env = dict(os.environ, OS_KEYSTONE_CONFIG_FILES=str(self.config), PYTHONPATH=str(self.workdir))
        self.process = subprocess.Popen(
            [
                str(VENV / "bin" / "gunicorn"),
                "--workers",
                "1",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "120",
                "keystone_wsgi:application",
            ],
            cwd=self.workdir,
            env=env,
            stdout=open(self.workdir / "gunicorn.log", "wb"),  # noqa: SIM115 - lives as long as the process
            stderr=subprocess.STDOUT,
        )
        self.wait_ready()
        return self

    def migrated_database(self) -> None:
        """An empty database at the schema's head: migrated once per test session,
        then copied (each migration is most of a Keystone's start). Every copy is a
        database of its own; bootstrap then makes each instance's admin and catalog."""
        global _MIGRATED
        if _MIGRATED is None or not _MIGRATED.exists():
            self.manage("db_sync")
            _MIGRATED = Path(tempfile.mkdtemp(prefix="oid-keystone-")) / "migrated.db"
            shutil.copyfile(self.workdir / "keystone.db", _MIGRATED)
            return
        shutil.copyfile(_MIGRATED, self.workdir / "keystone.db")

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.workdir / "gunicorn.log").read_text()[-2000:]
                raise RuntimeError(f"keystone {self.name} exited: {log}")
            try:
                with urllib.request.urlopen(self.url + "/v3", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"keystone {self.name} did not answer within {timeout}s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
