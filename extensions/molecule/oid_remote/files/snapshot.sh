#!/bin/sh
# What a host holds, to tell whether remove.yml left it as it was before site.yml:
# every directory, link and file (with its checksum) under /etc, /opt, /root, /usr
# and /var, except logs, caches (stevedore's entry points in /root/.cache),
# Python's bytecode, Ansible's own temporary directory and the engine's
# store; then the engine's images and containers.
set -eu
find /etc /opt /root /usr /var -xdev \
  \( -path /var/log -o -path /var/cache -o -path /var/lib/containers -o -path /root/.ansible \
     -o -path /root/.cache -o -name __pycache__ \) -prune \
  -o -type d -printf 'dir  %p %m\n' -o -type l -printf 'link %p -> %l\n' -o -type f -printf 'file %p %m\n' | sort
find /etc /opt /root /usr /var -xdev \
  \( -path /var/log -o -path /var/cache -o -path /var/lib/containers -o -path /root/.ansible \
     -o -path /root/.cache -o -name __pycache__ \) -prune -o -type f -print0 | sort -z | xargs -0 sha256sum
podman images --format '{{.Repository}}:{{.Tag}} {{.ID}}' | sort
podman ps --all --format '{{.Names}} {{.Image}} {{.State}}' | sort
