"""oid-client: a scope for keystoneauth1's clients (auth.py) and the openstack CLI (osc.py)."""
