#!/bin/sh
# A stand-in for one of Kolla's API images on this host: the api-paste.ini the
# service ships (the real file, from the lab's OpenStack image) at its path, and
# `cat` and `sleep` with the C library they need, imported into Podman's store.
# oid_paste reads the file from it; the stand-in container Kolla would run
# sleeps.   api-image.sh IMAGE SHIPPED-PATH FILE
set -eu
image=$1 shipped=$2 file=$3
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/usr/bin" "$stage/lib/x86_64-linux-gnu" "$stage/lib64" "$stage$(dirname "$shipped")"
ln -s usr/bin "$stage/bin"
cp /usr/bin/cat /usr/bin/sleep "$stage/usr/bin/"
cp -L /lib/x86_64-linux-gnu/libc.so.6 "$stage/lib/x86_64-linux-gnu/"
cp -L /lib64/ld-linux-x86-64.so.2 "$stage/lib64/"
cp "$file" "$stage$shipped"
tar -C "$stage" -c . | podman import --change 'CMD ["sleep", "infinity"]' - "$image" >/dev/null
