#!/usr/bin/python
# -*- coding: utf-8 -*-
"""What Kolla's service-ks-register does, for one lab DC, in one module call.

Kolla registers with one openstack.cloud task per object; on the lab's two
cores that costs a module start and a token per item (about a minute for
three DCs). This module does the same idempotent work in one process.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: lab_keystone_register
short_description: Service project, service accounts, catalog services and endpoints in one Keystone
description:
  - Ensures the C(service) project and role, one account per service with the
    C(admin) and C(service) roles in that project, and for each catalog entry a
    service and its internal and public endpoints in O(region). Existing
    endpoints with another URL are updated; passwords are set on creation only.
options:
  auth: {description: openstacksdk auth dict of the DC's admin, type: dict, required: true}
  region: {description: the DC's region, type: str, required: true}
  service_users: {description: account names, type: list, elements: str, required: true}
  service_password: {description: their password (set on creation), type: str, required: true, no_log: true}
  catalog:
    description: catalog entries, each with name, type and the internal and public URLs
    type: list
    elements: dict
    required: true
"""

from ansible.module_utils.basic import AnsibleModule


def register(conn, params, changes):
    identity = conn.identity
    project = identity.find_project("service", domain_id="default")
    if project is None:
        project = identity.create_project(name="service", domain_id="default", description="Service project")
        changes.append("project service")
    roles = {}
    for role_name in ("admin", "service"):
        role = identity.find_role(role_name)
        if role is None:
            role = identity.create_role(name=role_name)
            changes.append("role %s" % role_name)
        roles[role_name] = role
    for user_name in params["service_users"]:
        user = identity.find_user(user_name, domain_id="default")
        if user is None:
            user = identity.create_user(
                name=user_name, password=params["service_password"], domain_id="default", default_project_id=project.id
            )
            changes.append("user %s" % user_name)
        granted = {a.role["id"] for a in identity.role_assignments(user_id=user.id, scope_project_id=project.id)}
        for role_name, role in roles.items():
            if role.id not in granted:
                identity.assign_project_role_to_user(project, user, role)
                changes.append("role %s of %s" % (role_name, user_name))
    services = {service.type: service for service in identity.services()}
    endpoints = list(identity.endpoints())
    for entry in params["catalog"]:
        service = services.get(entry["type"])
        if service is None:
            service = identity.create_service(name=entry["name"], type=entry["type"])
            changes.append("service %s" % entry["type"])
        for interface in ("internal", "public"):
            current = [
                e
                for e in endpoints
                if e.service_id == service.id and e.interface == interface and e.region_id == params["region"]
            ]
            url = entry[interface]
            if not current:
                identity.create_endpoint(
                    service_id=service.id, interface=interface, url=url, region_id=params["region"]
                )
                changes.append("endpoint %s %s" % (entry["type"], interface))
            elif current[0].url != url:
                identity.update_endpoint(current[0], url=url)
                changes.append("endpoint %s %s url" % (entry["type"], interface))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            auth=dict(type="dict", required=True, no_log=True),
            region=dict(type="str", required=True),
            service_users=dict(type="list", elements="str", required=True),
            service_password=dict(type="str", required=True, no_log=True),
            catalog=dict(type="list", elements="dict", required=True),
        )
    )
    import openstack

    conn = openstack.connect(
        auth=module.params["auth"], region_name=module.params["region"], identity_interface="public"
    )
    changes = []
    try:
        register(conn, module.params, changes)
    except Exception as error:  # the SDK raises many kinds; report which object failed
        module.fail_json(msg="registration failed after %s: %s" % (changes or "no change", error))
    module.exit_json(changed=bool(changes), changes=changes)


if __name__ == "__main__":
    main()
