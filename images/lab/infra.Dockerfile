# The lab's infrastructure: MariaDB, RabbitMQ (Debian's), the WAN router's
# tools and daemon. Debian packages come from debootstrap (build-base.sh);
# the WAN daemon and its NetfilterQueue binding from a host-built wheelhouse.
ARG BASE
FROM ${BASE}
COPY wheels /tmp/wheels
RUN python3 -m venv /opt/oid-lab \
 && /opt/oid-lab/bin/pip install -q --no-index --find-links /tmp/wheels oid-lab NetfilterQueue \
 && ln -s /opt/oid-lab/bin/oid-lab-wan /opt/oid-lab/bin/kolla_start /usr/local/bin/ \
 && mkdir -p /var/lib/kolla/config_files /etc/oid-lab \
 && rm -rf /tmp/wheels /root/.cache
ENV PYTHONUNBUFFERED=1
CMD ["kolla_start"]
