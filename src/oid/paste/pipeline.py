"""Insert oid's filters into the api-paste.ini a service ships.

Every pipeline that authenticates with ``authtoken`` gets ``oid_scope``
before it and ``oid_auth`` in its place; two filter sections are added.
Nothing else changes: comments, order and the service's own filters stay as
shipped, so the file stays the service's and a new release's file can be
processed the same way.  Works on the pipelines of ``[pipeline:*]`` sections
and on the pipeline values of ``[composite:*]`` sections (nova, neutron and
glance keep their keystone pipelines there).
"""

from __future__ import annotations

import re

SECTION_RE = re.compile(r"^\s*\[(?P<kind>[a-z]+):(?P<name>[^\]]+)\]\s*$")
ASSIGN_RE = re.compile(r"^(?P<key>[^=#;\s][^=]*?)\s*=\s*(?P<value>.*)$")
FILTER_NAMES = ("oid_scope", "oid_auth")
# Keys of [composite:*] sections that are options, not pipelines.
NOT_PIPELINES = {"use", "paste.composite_factory"}


class PasteError(ValueError):
    """The paste file cannot take oid's filters."""


def rewrite_pipeline(value: str) -> str:
    words = value.split()
    if "oid_auth" in words or "authtoken" not in words:
        return value
    rewritten = []
    for word in words:
        rewritten.extend(["oid_scope", "oid_auth"] if word == "authtoken" else [word])
    return " ".join(rewritten)


def filter_sections(options: dict[str, str]) -> str:
    """The two filter sections; ``options`` go to both (``oid_catalog``,
    ``oid_location``, ``oid_service``, ``oid_interposer``, ``oid_federation_secret_file``)."""
    lines = [
        "",
        "# Added by oid: scopes and tokens from the Keystones of the inter-DC catalog.",
        "[filter:oid_scope]",
        "paste.filter_factory = oid.paste.filters:scope_filter_factory",
    ]
    lines += [f"{key} = {value}" for key, value in sorted(options.items())]
    lines += ["", "[filter:oid_auth]", "paste.filter_factory = oid.paste.filters:auth_filter_factory"]
    lines += [f"{key} = {value}" for key, value in sorted(options.items())]
    return "\n".join(lines) + "\n"


def insert_filters(text: str, options: dict[str, str], authtoken_options: dict[str, str] | None = None) -> str:
    """Return ``text`` with oid's filters inserted (idempotent).

    ``authtoken_options`` are the options of the shipped ``[filter:authtoken]``
    section worth keeping for ``oid_auth`` (e.g. ``delay_auth_decision``);
    by default they are copied from the file itself.
    """
    if "[filter:oid_auth]" in text:
        return text
    out, section, changed, shipped_authtoken = [], None, 0, {}
    for line in text.splitlines():
        header = SECTION_RE.match(line)
        if header:
            section = (header["kind"], header["name"].strip())
            out.append(line)
            continue
        assign = ASSIGN_RE.match(line)
        if assign and section is not None:
            key, value = assign["key"].strip(), assign["value"]
            if section == ("filter", "authtoken") and key != "paste.filter_factory":
                shipped_authtoken[key] = value.strip()
            is_pipeline = section[0] == "pipeline" and key == "pipeline"
            is_composite = section[0] == "composite" and key not in NOT_PIPELINES and not key.startswith("/")
            if (is_pipeline or is_composite) and "authtoken" in value.split():
                out.append(f"{assign['key']} = {rewrite_pipeline(value)}")
                changed += 1
                continue
        out.append(line)
    if not changed:
        raise PasteError("no pipeline uses 'authtoken': nothing to insert oid's filters into")
    options = dict(options)
    for key, value in (shipped_authtoken if authtoken_options is None else authtoken_options).items():
        options.setdefault(key, value)
    return "\n".join(out) + "\n" + filter_sections(options)
