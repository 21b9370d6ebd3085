#!/usr/bin/env bash
# Make sure a Docker engine answers: install docker.io from Debian when the
# client or the daemon is missing, start dockerd when it is not running.
# The daemon gets no default bridge (--bridge=none): the project's containers
# only use networks it creates itself with explicit subnets, and its image
# builds run with --network none.
set -euo pipefail
if docker info >/dev/null 2>&1; then exit 0; fi
if ! command -v dockerd >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io
fi
if ! docker info >/dev/null 2>&1; then
  mkdir -p /var/log/oid
  nohup dockerd --bridge=none >/var/log/oid/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && exit 0
    sleep 1
  done
  echo "dockerd did not start; see /var/log/oid/dockerd.log" >&2
  tail -20 /var/log/oid/dockerd.log >&2 || true
  exit 1
fi
