#!/usr/bin/env bash
# Build the lab's two images locally (no registry), cached by a hash of their
# inputs so that only the first build pays:
#   oid/lab-infra:<hash>      MariaDB, RabbitMQ, the WAN router
#   oid/lab-openstack:<hash>  Keystone, Glance, Placement, Nova, Neutron, Cinder (2026.1)
# Debian packages come from debootstrap (images/build-base.sh); Python
# packages from a wheelhouse built on the host with the project's constraints,
# installed with `docker build --network none`. Prints "infra=TAG openstack=TAG"
# (only that with OID_TAG_ONLY=1, for check mode: then only a missing base is built).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
python=${PYTHON:-$top/.venv/bin/python}
constraints=$top/constraints/openstack-2026.1.txt
wheels=$top/.cache/lab-wheels
export PIP_DISABLE_PIP_VERSION_CHECK=1

# pip, without the machine's warnings about absent find-links folders; fails when pip fails.
pipq() { "$python" -m pip -q "$@" 2>&1 | { grep -v '^WARNING: Location' || true; } >&2; return "${PIPESTATUS[0]}"; }

# The package's sources only (not what a build leaves in its tree).
lab_sources() { find images/lab/oid_lab -name build -prune -o -type f \( -name '*.py' -o -name '*.toml' \) -print | sort; }
hash_of() { (cd "$top" && cat "$@" && lab_sources | xargs sha256sum) | sha256sum | cut -c1-12; }

build() {  # build NAME DOCKERFILE BASE TAG WHEEL-ARGS...
  local name=$1 dockerfile=$2 base=$3 tag=$4; shift 4
  if [ -n "${OID_TAG_ONLY:-}" ]; then return; fi  # check mode: the tags, nothing built
  if docker image inspect "$tag" >/dev/null 2>&1; then return; fi
  local context; context=$(mktemp -d)
  cp "$here/$dockerfile" "$context/Dockerfile"
  cp "$here/openstack-requirements.txt" "$context/requirements.txt"
  mkdir -p "$context/wheels" "$wheels"
  echo "lab: wheels for $name ..." >&2
  pipq wheel --wheel-dir "$wheels" -c "$constraints" "$@"
  # Built from a copy, so that setuptools' build/ and egg-info stay out of the checkout.
  cp -r "$here/oid_lab" "$context/oid_lab-src"
  pipq wheel --no-deps --wheel-dir "$context/wheels" "$context/oid_lab-src"
  rm -rf "$context/oid_lab-src"
  # Only what this image needs goes into its build context.
  pipq download --no-index --find-links "$wheels" --dest "$context/wheels" -c "$constraints" "$@"
  echo "lab: docker build $tag ..." >&2
  DOCKER_BUILDKIT=0 docker build -q --network none --build-arg "BASE=$base" -t "$tag" "$context" >&2
  rm -rf "$context"
}

infra_base=$("$top/images/build-base.sh" mariadb-server rabbitmq-server iproute2 iptables libnetfilter-queue1 iputils-ping)
infra="oid/lab-infra:$(hash_of images/lab/infra.Dockerfile <(echo "$infra_base"))"
build infra infra.Dockerfile "$infra_base" "$infra" NetfilterQueue==1.1.0

# qemu-utils: Cinder runs `qemu-img info` on every image it writes into a volume.
openstack_base=$("$top/images/build-base.sh" qemu-utils)
openstack="oid/lab-openstack:$(hash_of images/lab/openstack.Dockerfile images/lab/openstack-requirements.txt \
  constraints/openstack-2026.1.txt <(echo "$openstack_base"))"
build openstack openstack.Dockerfile "$openstack_base" "$openstack" -r "$here/openstack-requirements.txt"

echo "infra=$infra openstack=$openstack"
