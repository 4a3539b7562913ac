"""Issue 12 #10: a service in another language calls our apps and actors with its own Dapr
SDK. A Node.js program (tests/polyglot/node/client.mjs, the official `@dapr/dapr` SDK pinned
in its package-lock.json, installed by `./taskw setup`) runs beside its own sidecar; its
replies must match the JSON Schemas we export for other languages (schemas/actors/).

The JavaScript actor proxy sends a method's arguments as a JSON array (`[payload]`), which
the Python actor hosts take as the payload (actors/serializer.py). Node and the SDK missing
is a failure, not a skip: set-up installs them.
"""

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest

from apps.contracts.catalog import Product
from tests import factories
from tests.harness import ROOT, Cluster, tail
from tests.polyglot import sidecar

NODE_DIR = ROOT / "tests" / "polyglot" / "node"
SCHEMAS = ROOT / "schemas" / "actors"
SDK_VERSION = json.loads((NODE_DIR / "package.json").read_text())["dependencies"]["@dapr/dapr"]

Json = dict[str, Any]


def _conforms(reply: Any, schema: Json, what: str) -> None:
    validator = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
    errors = [
        f"/{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validator.iter_errors(reply)
    ]
    assert not errors, f"{what} does not match its schema: {errors}\n{json.dumps(reply)[:2000]}"


def _schema(name: str) -> Json:
    return dict(json.loads((SCHEMAS / name).read_text()))


def _node() -> str:
    node = shutil.which("node")
    assert node, "node is not installed (./taskw setup needs Node.js 18+ and npm)"
    installed = NODE_DIR / "node_modules" / "@dapr" / "dapr" / "package.json"
    assert installed.exists(), f"{installed.parent} missing: run ./taskw setup"
    assert json.loads(installed.read_text())["version"] == SDK_VERSION, "run ./taskw setup"
    return node


def _product(cluster: Cluster) -> Json:
    product = factories.product()
    product["variants"][0]["stock"] = 5
    with cluster.client("storefront") as api:
        r = api.post("/api/staff/products", json=product)
    assert r.status_code == 201, r.text
    return product


def _order(cluster: Cluster) -> Json:
    with cluster.invoker("orders") as orders:
        r = orders.post("/orders", json=factories.order())
    assert r.status_code == 201, r.text
    return dict(r.json())


def _base_env() -> dict[str, str]:
    """Only what node needs: a `DAPR_*` variable of the test runner's (an endpoint, another
    token) would point the SDK elsewhere."""
    return {k: v for k in ("PATH", "HOME", "LANG", "TZ") if (v := os.environ.get(k))}


@pytest.fixture(scope="module")
def polyglot(cluster: Cluster) -> Iterator[sidecar.ExtraSidecar]:
    """The Node service's own sidecar (app id `polyglot`), stopped after the module's tests
    whatever their outcome."""
    with sidecar.running(cluster, "polyglot") as dapr:
        yield dapr


def _run_client(cluster: Cluster, dapr: sidecar.ExtraSidecar, args: Json) -> Json:
    run = subprocess.run(
        [_node(), "client.mjs", json.dumps(args)],
        cwd=NODE_DIR,
        env={**_base_env(), **dapr.env(cluster)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, (
        f"node client.mjs failed ({run.returncode}):\n{run.stderr[-3000:]}\n"
        f"--- polyglot daprd ---\n{tail(dapr.log)}"
    )
    return dict(json.loads(run.stdout))


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_a_node_service_calls_catalog_and_actors_with_the_dapr_js_sdk(
    cluster: Cluster, polyglot: sidecar.ExtraSidecar, protocol: str
) -> None:
    """(a) service invocation of catalog, (b) CartActor add_item then get on a fresh cart,
    (c) OrderActor get on an order the orders app created; over the SDK's HTTP and gRPC."""
    product = _product(cluster)
    variant = product["variants"][0]
    order = _order(cluster)
    session = secrets.token_urlsafe(24)
    cart_id = f"guest-{session}"  # the form the storefront gives a guest's cart

    replies = _run_client(
        cluster,
        polyglot,
        {
            "protocol": protocol,
            "product_id": product["product_id"],
            "variant_id": variant["variant_id"],
            "cart_id": cart_id,
            "order_id": order["order_id"],
        },
    )

    # (a) service invocation of catalog's internal route: the catalog wire model.
    got = replies["product"]
    _conforms(got, Product.model_json_schema(mode="serialization"), "catalog product")
    assert got["product_id"] == product["product_id"]
    assert got["price"]["amount"] == "999.00"
    assert [v["variant_id"] for v in got["variants"]] == [
        v["variant_id"] for v in product["variants"]
    ]

    # (b) CartActor through the SDK's proxy: the line added is the line held.
    cart_schema = _schema("CartActor.reply.json")
    for name in ("cart_add_item", "cart_get"):
        _conforms(replies[name], cart_schema, f"CartActor {name}")
        reply = replies[name]
        assert reply["ok"] is True, reply
        cart = reply["cart"]
        assert (cart["cart_id"], cart["owner"], cart["session_id"]) == (cart_id, "guest", session)
        assert cart["version"] == 1 and cart["valid"] is True, cart
        assert [
            (i["product_id"], i["variant_id"], i["quantity"], i["unit_price"], i["line_total"])
            for i in cart["items"]
        ] == [(product["product_id"], variant["variant_id"], 2, "999.00", "1998.00")]
    assert replies["cart_get"]["cart"]["items"][0]["issues"] == []

    # What the Node service wrote is what our own callers read.
    with cluster.sidecar("storefront") as dapr:
        ours = dapr.put(f"/v1.0/actors/CartActor/{cart_id}/method/get")
    assert ours.status_code == 200, ours.text
    assert ours.json()["cart"]["items"] == replies["cart_get"]["cart"]["items"]

    # (c) OrderActor: the order the test created, as the orders app created it.
    _conforms(replies["order_get"], _schema("OrderActor.reply.json"), "OrderActor get")
    assert replies["order_get"]["ok"] is True, replies["order_get"]
    seen = replies["order_get"]["order"]
    for key in ("order_id", "order_number", "email", "status", "version"):
        assert seen[key] == order[key], key
    assert seen["status"] == "pending"
    assert [i["product_id"] for i in seen["items"]] == [i["product_id"] for i in order["items"]]
