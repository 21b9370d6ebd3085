#!/usr/bin/env bash
# Build the interposer image locally (no registry): the debootstrapped base,
# a wheelhouse of the oid package and its dependencies built on the host,
# then `docker build --network none`. Cached by a hash of the inputs: a
# second run with unchanged sources builds nothing. Prints the image tag
# (only that with OID_TAG_ONLY=1, for check mode: then only a missing base is built).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
python=${PYTHON:-$top/.venv/bin/python}
base=$("$top/images/build-base.sh")
inputs=$(cd "$top" && { echo "$base"; cat images/interposer/Dockerfile pyproject.toml;
  find -L src/oid -name '*.py' -type f | sort | xargs sha256sum; } | sha256sum | cut -c1-12)
tag="oid/interposer:$inputs"
if [ -n "${OID_TAG_ONLY:-}" ]; then echo "$tag"; exit 0; fi  # check mode: the tag, nothing built
if docker image inspect "$tag" >/dev/null 2>&1; then echo "$tag"; exit 0; fi
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "$here/Dockerfile" "$context/"
echo "building wheels for $tag ..." >&2
"$python" -m pip wheel -q --wheel-dir "$context/wheels" "$top" >&2
DOCKER_BUILDKIT=0 docker build -q --network none --build-arg "BASE=$base" -t "$tag" "$context" >&2
docker tag "$tag" oid/interposer:latest
echo "$tag"
