"""The oid interposer: one per DC, a scope-aware proxy in front of its APIs."""
