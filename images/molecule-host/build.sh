#!/usr/bin/env bash
# The image of the molecule scenarios' instance (molecule/*/molecule.yml): the
# "control host" a role runs on. The project's debootstrapped Debian base with
# python3-requests, which community.docker's modules need on the host they run
# on; the Docker client and socket are the machine's, mounted by the scenario.
# Cached like every base (tag = hash of build-base.sh and the packages); also
# tagged oid/molecule-host:latest, the name the scenarios use. Prints the tag.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
base=$("$top/images/build-base.sh" python3-requests)
docker tag "$base" oid/molecule-host:latest
echo "$base"
