"""Helpers for tests that need users and service accounts in real Keystones."""

from __future__ import annotations

import openstack

SERVICE_PASSWORD = "oid-service-secret"


def own_secret(name: str) -> str:
    """A DC's own secret: what its interposer and its API services' filters hold, no other DC."""
    return f"{name}-own-secret-0123456789"


def admin(keystone):
    return openstack.connect(
        auth_url=f"{keystone.url}/v3",
        username="admin",
        password=keystone.password,
        project_name="admin",
        user_domain_name="Default",
        project_domain_name="Default",
        interface="internal",
    )


def service_account(keystone, username):
    """The least-privilege account oid creates in each Keystone: role 'service' in project 'service'."""
    conn = admin(keystone)
    project = conn.identity.find_project("service") or conn.identity.create_project(name="service", domain_id="default")
    user = conn.identity.find_user(username) or conn.identity.create_user(
        name=username, password=SERVICE_PASSWORD, domain_id="default"
    )
    role = conn.identity.find_role("service")
    conn.identity.assign_project_role_to_user(project, user, role)


def token_of(keystone):
    return admin(keystone).auth_token


def register_endpoint(keystone, service_type, name, url):
    """Register ``url`` as the public and internal endpoint of a service, as the overlay does."""
    conn = admin(keystone)
    service = conn.identity.find_service(name) or conn.identity.create_service(name=name, type=service_type)
    for interface in ("public", "internal"):
        conn.identity.create_endpoint(service_id=service.id, interface=interface, url=url, region_id=keystone.name)
