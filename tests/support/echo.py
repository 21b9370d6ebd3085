"""A WSGI app for the end of a test paste pipeline: answers what a service would see."""

import json

import webob
import webob.dec


def echo_app(_global_conf, **_local):
    @webob.dec.wsgify
    def app(req):
        seen = {
            "identity_status": req.headers.get("X-Identity-Status"),
            "user_id": req.headers.get("X-User-Id"),
            "auth_token": req.headers.get("X-Auth-Token"),
            "scope": req.headers.get("X-Scope"),
            "catalog": json.loads(req.headers.get("X-Service-Catalog") or "[]"),
            "oid_headers": {k: v for k, v in req.headers.items() if k.lower().startswith("x-oid-")},
            "origin": req.environ.get("oid.origin"),
            "service": {
                k: v for k, v in req.headers.items() if k.lower().startswith("x-service-") and k != "X-Service-Catalog"
            },
        }
        return webob.Response(json_body=seen)

    return app
