"""Shared by the scenarios' testinfra verifiers: what the checkout's build scripts
print (the controller's side of a deployment), computed, not built."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

TOP = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])


def printed_by(command: list[str], **env: str) -> str:
    """The last word a build script of the checkout prints (a tag, a path)."""
    done = subprocess.run(command, env=dict(os.environ, **env), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[-1]


def built_interposer_image() -> str:
    """The tag images/interposer/build.sh gives the image on the controller's Docker."""
    return printed_by([str(TOP / "images" / "interposer" / "build.sh")], OID_TAG_ONLY="1")
