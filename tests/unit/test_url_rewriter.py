"""The interposer's URL rewriting: upstream prefixes found by origin, longest first."""

from hypothesis import given
from hypothesis import strategies as st

from oid.interposer.config import UrlRewriter, origin_of

OWN = "http://entry:8790/compute"
BASES = [
    "http://10.0.0.1:8774",  # this DC's Nova (Kolla's internal endpoint)
    "http://10.0.0.1:8774/compute-legacy",  # a longer prefix on the same origin wins
    "http://10.0.2.9:8790/compute",  # Denver's interposer
    "https://paris.example:8790/compute",
]


def test_origin_of():
    assert origin_of("http://h:1/a/b") == "http://h:1"
    assert origin_of("https://h") == "https://h"


def test_rewrites_each_upstream_prefix_longest_first():
    rewriter = UrlRewriter(BASES)
    assert rewriter.url("http://10.0.0.1:8774/v2.1/servers", OWN) == OWN + "/v2.1/servers"
    assert rewriter.url("http://10.0.0.1:8774/compute-legacy/v2", OWN) == OWN + "/v2"
    assert rewriter.url("http://10.0.2.9:8790/compute/v2.1", OWN) == OWN + "/v2.1"
    assert rewriter.url("https://paris.example:8790/compute", OWN) == OWN


def test_leaves_other_strings_alone():
    rewriter = UrlRewriter(BASES)
    for value in ("http://10.0.2.9:8790/image/v2", "http://elsewhere:8774/v2.1", "Berlin", "", "http:"):
        assert rewriter.url(value, OWN) == value


def test_rewrites_through_json_and_tells_whether_a_body_mentions_upstream():
    rewriter = UrlRewriter(BASES)
    body = {"servers": [{"id": "1", "links": [{"href": "http://10.0.2.9:8790/compute/v2.1/servers/1"}]}], "n": 1}
    assert rewriter.rewrite(body, OWN) == {
        "servers": [{"id": "1", "links": [{"href": OWN + "/v2.1/servers/1"}]}],
        "n": 1,
    }
    assert rewriter.mentions(b'{"href": "http://10.0.2.9:8790/compute/v2.1"}')
    assert not rewriter.mentions(b'{"href": "http://10.9.9.9:8790/compute/v2.1", "name": "10.0.0.1:8774"}')


@given(
    st.lists(st.sampled_from(BASES), min_size=1),
    st.text(alphabet="abc/?=", max_size=12),
)
def test_same_answer_as_trying_every_prefix(bases, suffix):
    """The origin index gives what a scan of every prefix, longest first, gives
    (a prefix ends where a path, query or fragment starts)."""
    rewriter = UrlRewriter(bases)
    for base in BASES:
        value = base + suffix
        expected = next(
            (OWN + value[len(b) :] for b in sorted(bases, key=len, reverse=True) if whole_prefix(b, value)), value
        )
        assert rewriter.url(value, OWN) == expected


def whole_prefix(base: str, value: str) -> bool:
    return value.startswith(base) and value[len(base) : len(base) + 1] in ("", "/", "?", "#")


def test_a_prefix_is_whole():
    rewriter = UrlRewriter(BASES)
    assert rewriter.url("http://10.0.2.9:8790/computers", OWN) == "http://10.0.2.9:8790/computers"
    assert rewriter.url("http://10.0.0.1:87745/v2", OWN) == "http://10.0.0.1:87745/v2"
    assert rewriter.url("http://10.0.0.1:8774?x=1", OWN) == OWN + "?x=1"


def test_only_links_and_catalog_urls_are_rewritten():
    """A server named like a URL keeps its name; a Keystone catalog's endpoint URL
    (the local Keystone's own, in a token) becomes the interposer's, or clients
    would leave the federation for the identity service."""
    rewriter = UrlRewriter(["http://10.0.1.10:5000"])
    own = "http://10.0.1.10:8790/identity"
    token = {"token": {"catalog": [{"type": "identity", "endpoints": [{"url": "http://10.0.1.10:5000"}]}]}}
    assert rewriter.rewrite(token, own)["token"]["catalog"][0]["endpoints"][0]["url"] == own
    server = {"server": {"name": "http://10.0.1.10:5000/x", "metadata": {"note": "http://10.0.1.10:5000"}}}
    assert rewriter.rewrite(server, own) == server
