"""Code that runs inside the oid lab's containers (not part of the oid product)."""
