"""A federation of real interposers and real HTTP backends on loopback.

Each location (Berlin, Denver, Paris) gets an interposer and, standing for
its OpenStack APIs, small aiohttp backends that record what they received and
answer like the APIs do (lists under one key, links, version documents).
The interposers know each other by their certificates (mutual TLS on their
peer ports, as the overlay deploys them); each DC has its own secret.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from dataclasses import dataclass, field

import aiohttp
import pytest
import yaml
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from oid.interposer.app import build_app
from oid.interposer.config import Routes, Settings
from oid.scope import Catalog
from tests.support.identity import own_secret
from tests.support.pki import LoopbackPeers, serve
from tests.support.ports import free_port
from tests.support.two_keystones import interposers, keystones  # noqa: F401 (fixtures of test_keystone.py)

TOKEN = "gAAAA-token"
LOCATIONS = ("Berlin", "Denver", "Paris")


async def send_bytes(request, response: web.StreamResponse, size: int) -> web.StreamResponse:
    """``size`` bytes streamed in blocks of 1 MiB, with their Content-Length."""
    response.content_length = size
    await response.prepare(request)
    block = b"x" * (1 << 20)
    sent = 0
    while sent < size:
        part = block[: min(len(block), size - sent)]
        await response.write(part)
        sent += len(part)
    await response.write_eof()
    return response


@dataclass
class Backend:
    """One DC's compute and image service stand-in."""

    location: str
    port: int = 0
    seen: list = field(default_factory=list)
    status: int = 200  # what list requests answer; set to 503 to make the DC fail
    stall: bool = False  # accept and never answer
    uploads: dict = field(default_factory=dict)
    images: list = field(default_factory=list)  # (body received, record made) of each POST /v2/images
    image_bodies: list = field(default_factory=list)  # the bytes of each POST /v2/images
    bodies: list = field(default_factory=list)  # (size, sha256) of each body /v2.1/echo received

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> web.Application:
        app = web.Application(client_max_size=0)
        app.router.add_get("/", self.versions)
        app.router.add_get("/v2.1", self.versions)  # Nova answers its version root too
        app.router.add_get("/v2.1/", self.versions)
        app.router.add_get("/v2.1/split", self.split_json)
        app.router.add_get("/v2.1/servers", self.servers)
        app.router.add_get("/v2.1/servers/{id}", self.server)
        app.router.add_post("/v2.1/servers", self.create)
        app.router.add_post("/v2/images", self.create_image)
        app.router.add_put("/v2/images/{id}/file", self.upload)
        app.router.add_get("/v2/images/{id}/file", self.download)
        # For the adversarial suite (test_hostile.py).
        app.router.add_route("*", "/v2.1/echo", self.echo)
        app.router.add_get("/v2.1/headers", self.repeated_headers)
        app.router.add_get("/v2.1/named", self.named_like_a_link)
        app.router.add_get("/v2.1/deep", self.deep_json)
        app.router.add_get("/v2.1/invalid", self.invalid_json)
        app.router.add_get("/v2.1/unframed", self.unframed_json)
        app.router.add_get("/v2.1/huge-error", self.huge_error)
        app.router.add_post("/v2.1/fails", self.fails)
        return app

    def record(self, request):
        self.seen.append(
            {
                "method": request.method,
                "path": request.path_qs,
                "raw": request.raw_path,
                "headers": dict(request.headers),
            }
        )

    async def maybe_fail(self):
        if self.stall:
            await asyncio.sleep(3600)
        if self.status >= 400:
            raise web.HTTPException(text='{"error": "down"}', content_type="application/json") from None

    async def versions(self, request):
        self.record(request)
        return web.json_response(
            {"versions": [{"id": "v2.1", "links": [{"rel": "self", "href": f"{self.url}/v2.1/"}]}]}
        )

    async def split_json(self, request):
        """A JSON answer that arrives in two pieces, as a body does across a real WAN."""
        self.record(request)
        links = [{"rel": "self", "href": f"{self.url}/v2.1/x{i}"} for i in range(40)]
        body = json.dumps({"versions": [{"id": "v2.1", "links": links}]}, indent=1).encode()
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = len(body)
        await response.prepare(request)
        await response.write(body[:700])
        await asyncio.sleep(0.2)
        await response.write(body[700:])
        await response.write_eof()
        return response

    async def servers(self, request):
        self.record(request)
        if self.stall:
            await asyncio.sleep(3600)
        if self.status != 200:
            return web.json_response({"error": "down"}, status=self.status)
        return web.json_response(
            {
                "servers": [{"id": f"{self.location}-1", "name": "vm"}],
                "servers_links": [{"rel": "next", "href": f"{self.url}/v2.1/servers?marker=x"}],
            }
        )

    async def server(self, request):
        self.record(request)
        if request.match_info["id"].startswith(self.location):
            return web.json_response({"server": {"id": request.match_info["id"]}})
        return web.json_response({"itemNotFound": {"code": 404}}, status=404)

    async def create(self, request):
        self.record(request)
        body = await request.json()
        if self.status != 200:
            return web.json_response({"error": "down"}, status=self.status)
        return web.json_response(
            {"server": {"id": f"{self.location}-new", "name": body["server"]["name"]}},
            status=202,
            headers={"Location": f"{self.url}/v2.1/servers/{self.location}-new"},
        )

    async def create_image(self, request):
        """Glance's create: the client's id if it chose one, else a new one."""
        self.record(request)
        raw = await request.read()
        self.image_bodies.append(raw)
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            body = None
        if not isinstance(body, dict):
            return web.json_response({"badRequest": {"code": 400, "message": "not a JSON object"}}, status=400)
        image = {"id": body.get("id") or str(uuid.uuid4()), "name": body.get("name"), "status": "queued"}
        self.images.append((body, image))
        return web.json_response(image, status=201)

    async def upload(self, request):
        self.record(request)
        size = 0
        async for chunk in request.content.iter_chunked(1 << 20):
            size += len(chunk)
        self.uploads[request.match_info["id"]] = size
        return web.Response(status=204)

    async def echo(self, request):
        """What arrived, exactly: the body's size and digest, the raw query, repeated headers."""
        self.record(request)
        digest, size = hashlib.sha256(), 0
        async for chunk in request.content.iter_chunked(1 << 20):
            digest.update(chunk)
            size += len(chunk)
        self.bodies.append((size, digest.hexdigest()))
        answer = {
            "size": size,
            "sha256": digest.hexdigest(),
            "query": request.rel_url.raw_query_string,
            "accept": request.headers.getall("Accept", []),
        }
        return web.json_response(answer)

    async def repeated_headers(self, request):
        self.record(request)
        headers = CIMultiDict(
            [
                ("Vary", "OpenStack-API-Version"),
                ("Vary", "X-OpenStack-Nova-API-Version"),
                ("Set-Cookie", "a=1"),
                ("Set-Cookie", "b=2"),
                ("Link", "<http://x/1>; rel=next"),
                ("Link", "<http://x/2>; rel=last"),
                ("x-openstack-request-id", f"req-{self.location}-backend"),
                ("Content-Type", "application/json"),
            ]
        )
        body = {"versions": [{"links": [{"rel": "self", "href": f"{self.url}/v2.1/"}]}]}
        return web.Response(body=json.dumps(body).encode(), headers=headers)

    async def named_like_a_link(self, request):
        """A server whose name and metadata are URLs of this backend: data, not links."""
        self.record(request)
        url = f"{self.url}/v2.1/servers/x"
        server = {"id": "x", "name": url, "metadata": {"href-ish": url}, "links": [{"rel": "self", "href": url}]}
        return web.json_response({"server": server})

    async def deep_json(self, request):
        self.record(request)
        body = "[" * 600 + json.dumps(f"{self.url}/v2.1") + "]" * 600
        return web.Response(body=body.encode(), content_type="application/json")

    async def invalid_json(self, request):
        self.record(request)
        return web.Response(body=f'{{"href": "{self.url}/v2.1", '.encode(), content_type="application/json")

    async def unframed_json(self, request):
        """JSON without Content-Length (chunked), of ?size= bytes."""
        self.record(request)
        size = int(request.query["size"])
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        await response.write(b'{"pad": "')
        block = b"p" * (1 << 20)
        left = size - 11
        while left > 0:
            await response.write(block[: min(len(block), left)])
            left -= len(block)
        await response.write(b'"}')
        await response.write_eof()
        return response

    async def huge_error(self, request):
        """A 500 with a body of ?size= bytes."""
        self.record(request)
        size = int(request.query["size"])
        return await send_bytes(request, web.StreamResponse(status=500, headers={"Content-Type": "text/plain"}), size)

    async def fails(self, request):
        self.record(request)
        await request.read()
        return web.json_response({"computeFault": {"code": 500}}, status=500)

    async def download(self, request):
        self.record(request)
        size = int(request.query.get("size", "0"))
        return await send_bytes(request, web.StreamResponse(headers={"Content-Type": "application/octet-stream"}), size)


class Federation:
    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.backends = {name: Backend(name, port=free_port()) for name in LOCATIONS}
        self.ports = {name: free_port() for name in LOCATIONS}
        self.peers = LoopbackPeers(tmp_path / "pki", LOCATIONS)
        self.catalog_file = tmp_path / "catalog.yml"
        self.write_catalog()
        self.apps = {}
        self.runners = {}  # each interposer's, to stop one (and start it again)

    def catalog_data(self, extra_locations=()):
        data = {"locations": {}}
        for name in (*LOCATIONS, *extra_locations):
            backend = self.backends.get(name)
            data["locations"][name] = {
                "interposer": f"http://127.0.0.1:{self.ports.get(name, 9)}",
                "peer": self.peers.url(name) if name in self.peers.tls else "https://127.0.0.1:9",
                "services": {
                    "compute": backend.url if backend else None,
                    "image": backend.url if backend else None,
                    "network": None,
                    "placement": None,
                    "identity": None,
                },
            }
        return data

    def write_catalog(self, extra_locations=()):
        self.catalog_file.write_text(yaml.safe_dump(self.catalog_data(extra_locations)))

    def settings(self, name, **overrides):
        return Settings(
            location=name,
            catalog_file=str(self.catalog_file),
            host="127.0.0.1",
            port=self.ports[name],
            federation_secret=own_secret(name),
            peer_tls=self.peers.tls[name],
            connect_timeout=0.5,
            read_timeout=overrides.pop("read_timeout", 5.0),
            backoff_initial=overrides.pop("backoff_initial", 30.0),
            **overrides,
        )

    def url(self, name="Berlin") -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    async def start(self, name: str) -> None:
        """``name``'s interposer, on its plain and peer ports."""
        settings = self.settings(name)
        self.apps[name] = build_app(settings, Routes(Catalog.from_file(str(self.catalog_file)), name))
        self.runners[name] = await serve(self.apps[name], settings)

    async def stop(self, name: str) -> None:
        await self.runners.pop(name).cleanup()

    async def as_peer(self, sender, method, path, receiver="Berlin", headers=None, **kwargs):
        """A request to ``receiver``'s peer port as ``sender``'s interposer (its
        certificate): (status, headers, body, JSON when it is)."""
        status, answer_headers, body = await self.peers.send(sender, receiver, method, path, headers, **kwargs)
        try:
            body = json.loads(body)
        except ValueError:
            pass
        return status, answer_headers, body


@pytest.fixture
async def federation(tmp_path, aiohttp_server):
    fed = Federation(tmp_path)
    for backend in fed.backends.values():
        await aiohttp_server(backend.app(), port=backend.port)
    for name in LOCATIONS:
        await fed.start(name)
    yield fed
    for name in list(fed.runners):
        await fed.stop(name)


async def call(fed, method, path, scope=None, entry="Berlin", headers=None, **kwargs):
    headers = {"X-Auth-Token": TOKEN, **(headers or {})}
    if scope is not None:
        headers["X-Scope"] = scope
    # encoded: the path and query are sent exactly as written (yarl would normalize them).
    url = URL(fed.url(entry) + path, encoded=True)
    async with aiohttp.ClientSession() as session:
        async with session.request(method, url, headers=headers, **kwargs) as response:
            body = await response.read()
            try:
                body = json.loads(body)
            except ValueError:
                pass
            return response.status, response.headers, body
