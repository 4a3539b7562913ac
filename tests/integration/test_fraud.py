"""The fraud app through Dapr, as checkout calls it: a score with its band, model version
and drivers; missing or absurd features are a 422, not a guess."""

from tests.harness import Cluster
from tests.unit.test_fraud import context


def test_score_through_dapr_from_another_app(cluster: Cluster) -> None:
    with cluster.invoker("fraud") as fraud:
        calm = fraud.post("/score", json=context())
        assert calm.status_code == 200, calm.text
        body = calm.json()
        assert body["decision"] == "approve" and body["probability"] < 0.3
        assert body["model_version"].startswith("fraud-")
        risky = fraud.post(
            "/score",
            json=context(
                amount=950.0,
                share_electronics=0.9,
                account_age_days=0.2,
                avg_order_amount=0.0,
                email="x@mailinator.com",
                billing_country="NG",
                hour=3,
                payment_method_age_days=0.1,
            ),
        ).json()
        assert risky["decision"] in ("review", "reject") and risky["probability"] > 0.5
        assert risky["top_features"][0]["contribution"] > 0


def test_missing_or_absurd_features_are_422(cluster: Cluster) -> None:
    body = context()
    del body["hour"]
    with cluster.invoker("fraud") as fraud:
        for bad in (body, context(orders_last_24h=9, orders_last_7d=1), context(amount=-1)):
            resp = fraud.post("/score", json=bad)
            assert resp.status_code == 422, resp.text
            assert resp.json()["error"]["code"] == "UNPROCESSABLE_ENTITY"
        broken = fraud.post(
            "/score", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert broken.status_code == 400


def test_ready_reports_the_model_version(cluster: Cluster) -> None:
    with cluster.client("fraud") as app:
        ready = app.get("/health/ready").json()
    assert ready["status"] == "ready" and ready["model_version"].startswith("fraud-f")
