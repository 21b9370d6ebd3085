#!/usr/bin/env bash
# The image of the molecule scenario oid_remote's hosts (extensions/molecule/oid_remote):
# a DC's control host reached over SSH, with its own container engine. The
# debootstrapped base with openssh-server and Podman (netavark: the network
# stack Podman's packages require; python3-packaging, which Ansible's pip module
# needs where it runs), and a wheelhouse of openstacksdk (the
# project's constraints) built on the controller; `docker build --network none`.
# Cached by a hash of its inputs; also tagged oid/remote-host:latest. Prints the tag.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
python=${PYTHON:-$top/.venv/bin/python}
constraints=$top/constraints/openstack-2026.1.txt
base=$("$top/images/build-base.sh" openssh-server podman netavark python3-packaging)
tag="oid/remote-host:$( (echo "$base"; cat "$here/Dockerfile" "$0" "$constraints") | sha256sum | cut -c1-12)"
if ! docker image inspect "$tag" >/dev/null 2>&1; then
  context=$(mktemp -d)
  trap 'rm -rf "$context"' EXIT
  cp "$here/Dockerfile" "$context/"
  echo "wheels of openstacksdk for $tag ..." >&2
  # (without the machine's warnings about absent find-links folders; pipefail: fails when pip fails)
  "$python" -m pip wheel -q --disable-pip-version-check --wheel-dir "$context/wheels" -c "$constraints" openstacksdk 2>&1 \
    | { grep -v '^WARNING: Location' || true; } >&2
  DOCKER_BUILDKIT=0 docker build -q --network none --build-arg "BASE=$base" -t "$tag" "$context" >&2
fi
docker tag "$tag" oid/remote-host:latest
echo "$tag"
