# oid — the two entry points of the README:
#   make demo   set up everything on a fresh machine and run the main job
#   make test   run the whole test suite (what .ci/run calls)
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
COLLECTION := collections/ansible_collections/oid/cloud
# golang-go and gophercloud: a non-Python OpenStack client for the tests of a scope in
# the entry's URL (tests/support/gophercloud.py, docs/cli.md); prometheus: the real
# Prometheus that scrapes the lab's interposers (tests/overlay/test_monitoring.py);
# docker-registry: a real registry, which the interposer's image is pushed to and
# pulled from (the molecule scenarios oid_interposer_podman and oid_remote).
APT_PACKAGES := docker.io podman debootstrap haproxy iproute2 iptables libnetfilter-queue-dev \
	golang-go golang-github-gophercloud-gophercloud-dev prometheus docker-registry
# ansible-test bootstraps pip in its sanity venvs with a script it downloads
# from a host this machine cannot reach; ours does the same from PyPI.
ANSIBLE_TEST_GET_PIP := $(HOME)/.ansible/test/cache/get_pip_24_2.py

OPENSTACK_VENV := .cache/venv-openstack
# The API services whose shipped api-paste.ini the filters are tested on
# (2026.1 series, the release kolla-ansible 22.x deploys); only the wheels.
SHIPPED_SERVICES := nova==33.0.2 neutron==28.0.2 cinder==28.0.0 openstack-placement==15.0.0
SHIPPED_WHEELS := .cache/shipped-wheels
OPENSTACK_CONSTRAINTS := constraints/openstack-2026.1.txt
# The real kolla-ansible for the compatibility test (tests/overlay/test_kolla_compat.py):
# the 22.x series deploys 2026.1 and installs on Python 3.11 (23 needs 3.12). Its
# collections come from the `ansible` package (no Galaxy here): 12.3.0 satisfies
# kolla-ansible's requirements-core.yml; openstack.kolla (a git-only collection) is
# used only by bootstrap-servers, never by genconfig. `docker`: kolla's modules import it.
KOLLA_VENV := .cache/venv-kolla
KOLLA_PACKAGES := kolla-ansible==22.2.0 ansible==12.3.0 docker==7.2.0
# The openstack CLI for oid-client's tests (client/, docs/cli.md): the current release.
CLI_VENV := .cache/venv-cli
CLI_PACKAGES := python-openstackclient==10.5.0

.PHONY: help setup venvs demo check test test-large lint unit sanity build openstack-venv kolla-venv cli-venv images molecule molecule-lanes molecule-lab images-beside check-beside lab-tier lab-tier-beside molecule-beside

help:
	@echo "make demo    set up (packages, venv, images) and run the main job"
	@echo "make check   the inner loop (a few minutes; no root, no Docker): lint, ansible-test sanity,"
	@echo "             the unit and property tests, the loopback suites"
	@echo "make test    every test (what .ci/run runs): make check, then the roles' molecule scenarios,"
	@echo "             the interposer's image, and the lab (brought up once) with everything run on it"
	@echo "make test-large     a 1 GiB image under '|' and '&' on the lab as it is (not in make test)"
	@echo "make molecule       the roles' molecule scenarios (part of make test)"
	@echo "make molecule-lab   the molecule scenario lab alone: site.yml on the lab (make test runs it"
	@echo "                    from tests/overlay, on the lab the run brought up)"

# What needs no root: the Python environments (make check needs no more).
venvs: $(VENV)/.installed $(ANSIBLE_TEST_GET_PIP) $(OPENSTACK_VENV)/.installed $(SHIPPED_WHEELS)/.downloaded $(KOLLA_VENV)/.installed $(CLI_VENV)/.installed

setup: venvs
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	images/ensure-docker.sh

# Container images, built locally from a debootstrapped Debian (no registry),
# cached by a hash of their inputs.
images: setup
	images/interposer/build.sh
	images/molecule-host/build.sh
	images/remote-host/build.sh
	PYTHON=$(CURDIR)/$(PY) images/lab/build.sh

$(VENV)/.installed: pyproject.toml client/pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[ansible,test]' -e client
	touch $@

# The stock openstack CLI with oid-client beside it and nothing else, as an operator
# installs them (docs/cli.md); tests/client runs it.
cli-venv: $(CLI_VENV)/.installed
$(CLI_VENV)/.installed: client/pyproject.toml
	python3 -m venv $(CLI_VENV)
	$(CLI_VENV)/bin/pip install -q -U pip
	$(CLI_VENV)/bin/pip install -q $(CLI_PACKAGES) -e client
	$(CLI_VENV)/bin/openstack --version
	touch $@

# Real OpenStack services for the tests (Keystone and Glance of the 2026.1 series, served
# by gunicorn), apart from the project's venv so that neither constrains the other.
openstack-venv: $(OPENSTACK_VENV)/.installed
$(OPENSTACK_VENV)/.installed: $(OPENSTACK_CONSTRAINTS)
	python3 -m venv $(OPENSTACK_VENV)
	$(OPENSTACK_VENV)/bin/pip install -q -U pip
	$(OPENSTACK_VENV)/bin/pip install -q -c $(OPENSTACK_CONSTRAINTS) keystone glance gunicorn
	touch $@

kolla-venv: $(KOLLA_VENV)/.installed
$(KOLLA_VENV)/.installed: Makefile
	python3 -m venv $(KOLLA_VENV)
	$(KOLLA_VENV)/bin/pip install -q -U pip
	$(KOLLA_VENV)/bin/pip install -q $(KOLLA_PACKAGES)
	$(KOLLA_VENV)/bin/kolla-ansible --version
	touch $@

$(SHIPPED_WHEELS)/.downloaded: Makefile $(VENV)/.installed
	$(BIN)/pip download -q --no-deps -d $(SHIPPED_WHEELS) $(SHIPPED_SERVICES)
	touch $@

$(ANSIBLE_TEST_GET_PIP): scripts/ansible-test-get-pip.py
	mkdir -p $(dir $@)
	cp $< $@

# The main job: the lab, site.yml on it, then the acceptance table (every cell as a
# playbook of oid.cloud modules and as plain HTTP, the WAN cut and healed for the
# partial rows) printed with the time each took; the lab stays up.
demo: setup
	$(BIN)/oid scope check '{nova: Berlin, glance: Denver|Paris}' --catalog examples/catalog.yml --entry Berlin
	$(BIN)/oid lab up
	ANSIBLE_STDOUT_CALLBACK=oid.cloud.progress $(BIN)/ansible-playbook -i inventories/lab playbooks/lab/site.yml
	$(BIN)/oid verify

lint: venvs
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/ansible-lint --offline --profile production site.yml remove.yml prechecks.yml roles playbooks inventories/edge extensions/molecule
	$(BIN)/ansible-playbook site.yml -i inventories/edge --syntax-check
	$(BIN)/ansible-playbook remove.yml -i inventories/edge --syntax-check
	$(BIN)/ansible-playbook prechecks.yml -i inventories/edge --syntax-check

sanity: venvs
	cd $(COLLECTION) && $(CURDIR)/$(BIN)/ansible-test sanity --local --python 3.11

unit: venvs
	$(BIN)/pytest -q tests/unit

build: venvs
	mkdir -p build
	$(BIN)/ansible-galaxy collection build --force --output-path build $(COLLECTION)

# The roles' molecule scenarios (extensions/molecule/README.md), run from the top:
# molecule finds them under extensions/molecule (the top has a galaxy.yml) and
# runs ansible-playbook and pytest from PATH.
MOLECULE := env PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/molecule
# The roles' scenarios, in two lanes side by side (scripts/molecule-lanes; each
# scenario's log in build/molecule-<scenario>.log). The lab's (`lab`) is run by
# tests/overlay in make test, on the lab that run brings up once; `make
# molecule-lab` runs it alone. The images they use are built first, once: two
# lanes must not build the same image at once.
MOLECULE_LANES := "oid_interposer oid_interposer_podman oid_kolla" "oid_catalog oid_paste oid_remote"
# The images first, then the lanes (a prerequisite each, `make -j` would start both at once).
molecule: images
	$(MAKE) --no-print-directory molecule-lanes

molecule-lanes:
	scripts/molecule-lanes $(MOLECULE_LANES)

# site.yml on the lab through molecule: `oid lab up` (or converge a running lab),
# site.yml, its re-run, checks through the interposers; `oid lab down` only if it
# brought the lab up. Also the last scenario of `make molecule`.
molecule-lab: setup
	$(MOLECULE) test -s lab

# What moves gigabytes across the lab's WAN (a 1 GiB image under '|' and '&'), on the
# lab as it is: brought up and federated by `make demo` or `oid lab up` and site.yml.
test-large: setup
	OID_LAB_REUSE=1 $(BIN)/pytest -q -s -m large tests/overlay/test_large_bodies.py

# Every step of check and test records its wall time in build/durations.tsv;
# the table is printed at the end (scripts/timed).
TIMED := scripts/timed
PYTEST_REPORT = --durations=15 --suite-times=build/pytest-suites-$(1).tsv

# The inner loop: no root, no Docker, no lab (the suites marked lab or docker are
# left to make test).
check: venvs
	@[ -n "$(OID_KEEP_DURATIONS)" ] || rm -f build/durations.tsv
	@rm -f build/pytest-suites-*.tsv
	$(TIMED) "ruff, ansible-lint" $(MAKE) --no-print-directory lint
	$(TIMED) "ansible-test sanity" $(MAKE) --no-print-directory sanity
	$(TIMED) "pytest: units, properties, loopback" $(BIN)/pytest -q -m "not lab and not docker" $(call PYTEST_REPORT,check)
	@[ -n "$(OID_KEEP_DURATIONS)" ] || scripts/timed --table

# Everything: make check, the roles' molecule scenarios, the interposer's image and the
# lab. The lab comes up once, from nothing, in the pytest session (tests/lab);
# tests/overlay federates it with the molecule scenario lab (site.yml, its re-run, its
# checks) and runs the rest on it. That lab tier is the longest step by far, so it starts
# as soon as the images are there; the rest runs beside it (2 cores: the lab tier waits
# on the WAN and the DCs much of the time): make check while the images build, then
# the roles' molecule scenarios (their containers, networks and files are named apart
# from the lab's). A side-by-side step's output goes to its log in build/, printed
# when it ends (all of it when it failed).
test:
	@rm -f build/durations.tsv
	$(TIMED) "setup: packages, engine, venvs (three at once)" $(MAKE) --no-print-directory -j3 setup
	$(TIMED) "build the collection" $(MAKE) --no-print-directory build
	$(MAKE) --no-print-directory -j3 lab-tier-beside molecule-beside OID_KEEP_DURATIONS=1
	@scripts/timed --table
	@cat build/verify-table.txt

images-beside: setup
	@mkdir -p build
	@echo "images: building (log: build/images.log)"
	@$(TIMED) "images (built once, cached by their inputs)" $(MAKE) --no-print-directory images >build/images.log 2>&1 \
	  || { echo "images FAILED; the end of build/images.log:"; tail -n 80 build/images.log; exit 1; }

check-beside: venvs
	@mkdir -p build
	@echo "make check: running (log: build/check.log)"
	@$(MAKE) --no-print-directory check >build/check.log 2>&1 \
	  && { echo "make check passed; the end of build/check.log:"; tail -n 22 build/check.log; } \
	  || { echo "make check FAILED; the end of build/check.log:"; tail -n 150 build/check.log; exit 1; }

lab-tier-beside: images-beside
	@$(MAKE) --no-print-directory lab-tier

molecule-beside: check-beside images-beside
	@$(MAKE) --no-print-directory molecule-lanes

lab-tier:
	$(TIMED) "pytest: image, lab, overlay" $(BIN)/pytest -q -m "(lab or docker) and not large" $(call PYTEST_REPORT,test)
