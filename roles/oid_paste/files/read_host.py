#!/usr/bin/env python3
"""Print, as one JSON object {service: text}, the api-paste.ini each service
ships, read from its image: a container per file (never pulled, no network),
all from this one process, so that the role runs one task on the host for
every service rather than one per service (docs/performance.md).

    read_shipped.py ENGINE '[{"service": ..., "image": ..., "path": ...}, ...]'

Fails naming the service, its image and the engine's answer when a file cannot
be read (roles/oid_paste's prechecks say the same before a deployment).
"""

from __future__ import annotations

import json
import subprocess
import sys


def read(engine: str, image: str, path: str) -> subprocess.CompletedProcess:
    command = [engine, "run", "--rm", "--network", "none", "--pull", "never", "--entrypoint", "cat", image, path]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)


def main(engine: str, specification: str) -> int:
    shipped = {}
    for item in json.loads(specification):
        answer = read(engine, item["image"] or "no-image-named", item["path"])
        if answer.returncode != 0:
            print(
                f"{item['service']}: {item['path']} cannot be read from the image {item['image']!r}: "
                f"{answer.stderr.strip()[:600]}",
                file=sys.stderr,
            )
            return 1
        shipped[item["service"]] = answer.stdout
    print(json.dumps(shipped))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
