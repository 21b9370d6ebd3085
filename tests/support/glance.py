"""A real glance-api on loopback (file store, SQLite, gunicorn) whose paste
pipeline is the shipped one with oid's filters inserted by `oid paste insert`:
its own Keystone with its own account, other Keystones through its DC's
interposer (``interposer``, with the DC's secret in ``secret_file``)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

from tests.support.keystone import TOP, VENV, free_port, use_wal


class Glance:
    def __init__(
        self,
        workdir: Path,
        location: str,
        keystone,
        account: tuple[str, str],
        catalog: Path,
        secret_file: Path,
        interposer: str,
    ):
        self.workdir = Path(workdir) / f"glance-{location.lower()}"
        self.location = location
        self.keystone = keystone
        self.account = account
        self.catalog = catalog
        self.secret_file = secret_file
        self.interposer = interposer
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None

    def write_config(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        paste = subprocess.run(
            [sys.executable, "-m", "oid.cli", "paste", "insert", str(VENV / "etc/glance/glance-api-paste.ini"),
             "--catalog", str(self.catalog), "--location", self.location, "--service", "image",
             "--interposer", self.interposer, "--secret-file", str(self.secret_file)],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        (self.workdir / "glance-api-paste.ini").write_text(paste)
        username, password = self.account
        w = self.workdir
        (w / "glance-api.conf").write_text(
            textwrap.dedent(
                f"""
                [DEFAULT]
                enabled_backends = file:file
                worker_self_reference_url = {self.url}
                log_file = {w}/glance-api.log
                [glance_store]
                default_backend = file
                [file]
                filesystem_store_datadir = {w}/images
                [os_glance_staging_store]
                filesystem_store_datadir = {w}/staging
                [os_glance_tasks_store]
                filesystem_store_datadir = {w}/tasks
                [database]
                connection = sqlite:///{w}/glance.db?timeout=30
                [paste_deploy]
                flavor = keystone
                config_file = {w}/glance-api-paste.ini
                [keystone_authtoken]
                auth_type = password
                auth_url = {self.keystone.url}/v3
                www_authenticate_uri = {self.keystone.url}/v3
                username = {username}
                password = {password}
                project_name = service
                user_domain_name = Default
                project_domain_name = Default
                interface = public
                """
            )
        )

    def start(self) -> Glance:
        self.write_config()
        subprocess.run(
            [str(VENV / "bin/glance-manage"), "--config-file", str(self.workdir / "glance-api.conf"), "db_sync"],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        use_wal(self.workdir / "glance.db")
        # Only the service's own libraries and the oid package (src/, as the
        # overlay mounts it): nothing else is installed for the filters.
        env = dict(os.environ, OS_GLANCE_CONFIG_DIR=str(self.workdir), PYTHONPATH=str(TOP / "src"))
        self.process = subprocess.Popen(
            [str(VENV / "bin/gunicorn"), "--workers", "1", "--bind", f"127.0.0.1:{self.port}", "--timeout", "120",
             "glance.wsgi.api:application"],
            cwd=self.workdir, env=env, stdout=open(self.workdir / "gunicorn.log", "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("glance-api exited: " + (self.workdir / "gunicorn.log").read_text()[-3000:])
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2):
                    return self
            except urllib.error.HTTPError:
                return self  # answering (300 Multiple Choices on /)
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("glance-api did not answer")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
