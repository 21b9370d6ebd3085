#!/usr/bin/env bash
# Build the project's Debian bookworm base image from nothing (no registry):
# debootstrap --variant=minbase, then docker import. Cached: the tag is a hash
# of this script, so only the first build pays. Prints the image tag.
#   images/build-base.sh [EXTRA_DEBIAN_PACKAGES...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
packages="python3,python3-venv,ca-certificates,curl${*:+,$(IFS=,; echo "$*")}"
tag="oid/debian-base:bookworm-$( (cat "$0"; echo "$packages") | sha256sum | cut -c1-12)"
"$here/ensure-docker.sh"
if docker image inspect "$tag" >/dev/null 2>&1; then echo "$tag"; exit 0; fi
cache=${OID_CACHE:-/var/cache/oid}
rootfs=$(mktemp -d "$cache/rootfs.XXXXXX" 2>/dev/null || { mkdir -p "$cache"; mktemp -d "$cache/rootfs.XXXXXX"; })
trap 'rm -rf "$rootfs"' EXIT
echo "debootstrap bookworm ($packages) ..." >&2
debootstrap --variant=minbase --include="$packages" bookworm "$rootfs" http://deb.debian.org/debian >&2
# Keep the image small: no apt lists, no docs.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*
tar -C "$rootfs" -c . | docker import - "$tag" >&2
echo "$tag"
