"""Serve any OpenStack WSGI application under gunicorn.

OID_LAB_WSGI_APP names it: ``module:attribute``, or ``module:factory()`` for
services whose WSGI module offers a function (Keystone).  Several services parse
sys.argv with oslo.config when their WSGI module is imported; under gunicorn
that is gunicorn's command line, so it is hidden first.
"""

import importlib
import os
import sys

sys.argv = sys.argv[:1]
_module, _, _attribute = os.environ["OID_LAB_WSGI_APP"].partition(":")
_factory = _attribute.endswith("()")
application = getattr(importlib.import_module(_module), _attribute.removesuffix("()") or "application")
if _factory:
    application = application()
