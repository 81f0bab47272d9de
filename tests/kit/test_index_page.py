"""The index page and the picture routes over HTTP (in memory)."""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree import ElementTree

import flask
import pytest
from flask.testing import FlaskClient

import workflows.pizza  # noqa: F401  (registers "pizza")
from engine.config import Settings
from engine.http import HttpApp
from engine.pages import index_html
from engine.testing import Harness


@pytest.fixture
def harness() -> Harness:
    return Harness()


@pytest.fixture
def client(harness: Harness) -> Iterator[FlaskClient]:
    app = HttpApp(harness.service, Settings(signing_secret="s"))
    flask_app = flask.Flask("test")

    @flask_app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
    @flask_app.route("/<path:path>", methods=["GET", "POST"])
    def api(path: str) -> flask.Response:
        return app.api(flask.request)

    with flask_app.test_client() as c:
        yield c


def test_index_html_escapes_and_links() -> None:
    page = index_html(["pizza", "<x>"])
    assert '<a href="/graph/pizza?format=svg">' in page and "&lt;x&gt;" in page
    assert "http" not in page  # self-contained: no external assets


def test_routes_answer_each_format(client: FlaskClient) -> None:
    html = client.get("/", headers={"Accept": "text/html"})
    assert html.mimetype == "text/html" and b"/openapi/pizza" in html.data
    assert client.get("/").get_json() == {"workflows": ["pizza"]}
    dot = client.get("/graph/pizza?format=dot")
    assert dot.mimetype == "text/vnd.graphviz" and dot.data.startswith(b'digraph "pizza"')
    assert client.get("/graph/pizza").data.startswith(b"flowchart TD")
    svg = client.get("/graph/pizza?format=svg")
    assert svg.mimetype == "image/svg+xml" and svg.data.startswith(b"<svg")
    bad = client.get("/graph/pizza?format=png")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "bad_request"
    api = client.get("/openapi/pizza").get_json()
    assert api["openapi"] == "3.1.0" and api["servers"] == [{"url": "http://localhost"}]
    assert client.get("/definition/pizza").get_json()["workflow"] == "pizza"
    assert client.get("/graph/nope").status_code == 404


def test_svg_marks_where_an_instance_sits(client: FlaskClient, harness: Harness) -> None:
    harness.create("pizza", "o1")
    harness.send("pizza", "o1", "add", {"name": "a", "qty": 1})
    harness.send("pizza", "o1", "submit")
    svg = client.get("/graph/pizza?format=svg&instance=o1")
    root = ElementTree.fromstring(svg.data)
    ns = {"s": "http://www.w3.org/2000/svg"}
    marked = sorted(
        str(g.findtext("s:title", namespaces=ns))
        for g in root.iterfind(".//s:g[@class='here']", ns)
    )
    assert marked == ["confirm", "confirm_timeout (10m)", "confirmation"]
    assert client.get("/graph/pizza?format=svg&instance=nope").status_code == 404
    assert client.get("/graph/pizza?format=svg&instance=bad%20id").status_code == 400


def test_dot_and_mermaid_mark_where_an_instance_sits(client: FlaskClient, harness: Harness) -> None:
    harness.create("pizza", "o1")
    dot = client.get("/graph/pizza?format=dot&instance=o1").get_data(as_text=True)
    marked = [line for line in dot.splitlines() if "penwidth=3" in line]
    assert len(marked) == 5 and any('label="cart"' in line for line in marked)
    mermaid = client.get("/graph/pizza?format=mermaid&instance=o1").get_data(as_text=True)
    assert mermaid.splitlines()[-1].startswith("  class ") and "classDef here" in mermaid
    for fmt in ("dot", "mermaid"):
        unknown = client.get(f"/graph/pizza?format={fmt}&instance=nope")
        assert unknown.status_code == 404 and unknown.get_json()["error"]["code"]
        assert client.get(f"/graph/pizza?format={fmt}&instance=").status_code == 400
