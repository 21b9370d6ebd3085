# The lab's OpenStack services (Keystone, Glance, Placement, Nova, Neutron, Cinder), one
# release, in Kolla's venv path, on the project's debootstrapped Debian base.
# Built by images/lab/build.sh with --network none from a host-built wheelhouse.
ARG BASE
FROM ${BASE}
COPY wheels /tmp/wheels
COPY requirements.txt /tmp/requirements.txt
RUN python3 -m venv /var/lib/kolla/venv \
 && /var/lib/kolla/venv/bin/pip install -q --no-index --find-links /tmp/wheels -r /tmp/requirements.txt oid-lab \
 && cp -a /var/lib/kolla/venv/etc/. /etc/ \
 && mkdir -p /var/lib/kolla/config_files /var/log/kolla /var/lib/nova /var/lib/glance /var/lib/neutron /var/lib/cinder/tmp /etc/keystone/fernet-keys \
 && rm -rf /tmp/wheels /root/.cache
ENV PATH=/var/lib/kolla/venv/bin:$PATH PYTHONUNBUFFERED=1 KOLLA_CONFIG_STRATEGY=COPY_ALWAYS
STOPSIGNAL SIGTERM
CMD ["kolla_start"]
