"""The api-paste.ini of a test service: oid's two filters in front of an echo app
(tests/support/echo.py), the way the overlay inserts them, with the service's own
Keystone for its own tokens."""

from __future__ import annotations

from tests.support.identity import SERVICE_PASSWORD


def pipeline_ini(catalog, location, secret_file, keystone_url, **options) -> str:
    """``options`` (oid_interposer, oid_reload_seconds, ...) go to both
    filters, as `oid paste insert` writes them."""
    extra = "".join(f"{key} = {value}\n" for key, value in options.items())
    common = f"oid_catalog = {catalog}\noid_location = {location}\noid_federation_secret_file = {secret_file}\n{extra}"
    return f"""
[pipeline:main]
pipeline = oid_scope oid_auth echo

[app:echo]
paste.app_factory = tests.support.echo:echo_app

[filter:oid_scope]
paste.filter_factory = oid.paste.filters:scope_filter_factory
oid_service = compute
{common}
[filter:oid_auth]
paste.filter_factory = oid.paste.filters:auth_filter_factory
{common}auth_type = password
auth_url = {keystone_url}/v3
www_authenticate_uri = {keystone_url}/v3
username = oid-berlin
password = {SERVICE_PASSWORD}
project_name = service
user_domain_name = Default
project_domain_name = Default
interface = public
"""
