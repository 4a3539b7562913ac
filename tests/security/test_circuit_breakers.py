"""Issue 12 #9: actor circuit breakers are per actor id. Five failures of one cart open
that cart's breaker on the calling sidecar; every other cart stays reachable."""

import uuid

from tests.harness import Cluster, eventually


def test_one_broken_cart_does_not_open_the_breaker_of_others(cluster: Cluster) -> None:
    broken, other = f"guest-cb-{uuid.uuid4().hex[:12]}", f"guest-cb-{uuid.uuid4().hex[:12]}"
    with cluster.sidecar("storefront") as dapr:

        def call(cart: str, method: str) -> int:
            return dapr.put(f"/v1.0/actors/CartActor/{cart}/method/{method}", json={}).status_code

        # a method the actor does not have fails every time: a failure the breaker counts
        failures = [call(broken, "no_such_method") for _ in range(8)]
        assert all(code >= 500 for code in failures), failures
        # the broken cart's breaker is open: even a good call to it is refused for now
        assert call(broken, "get") >= 500
        # ...while another cart on the same sidecar answers
        assert call(other, "get") == 200
        # and the broken cart recovers once the breaker's timeout has passed
        eventually(lambda: call(broken, "get") == 200, timeout=60, interval=2)
