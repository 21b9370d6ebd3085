"""oid: scoped collaboration between independent OpenStack clouds."""

__version__ = "0.1.0"
