"""oid's paste filters (``oid.paste.filters``) and the tool that inserts them
into a service's api-paste.ini (``oid.paste.pipeline``)."""
