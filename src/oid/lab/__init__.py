"""The built-in lab: a real multi-DC OpenStack edge on this machine (docs/lab.md)."""
