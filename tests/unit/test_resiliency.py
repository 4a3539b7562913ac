"""The Dapr resiliency policies: only keys Dapr reads, and the same numbers in Azure.

Dapr 1.16's Resiliency resource (`pkg/apis/resiliency/v1alpha1`, type `Retry`) has
`policy`, `duration`, `maxInterval`, `maxRetries` and `matching`; anything else is dropped
without a warning, and an exponential policy then starts from the backoff library's 500 ms.
An `initialInterval: 20ms` on the state store's retry did exactly that: every lost ETag
race waited 250-750 ms in the sidecar before the app saw its conflict.
"""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "components" / "local" / "resiliency.yaml"
BICEP = ROOT / "bicep" / "modules"

#: The fields of Dapr 1.16's `Retry` (json tags).
RETRY_KEYS = {"policy", "duration", "maxInterval", "maxRetries", "matching"}
#: Where Dapr's exponential backoff starts (cenkalti/backoff's DefaultInitialInterval).
EXPONENTIAL_START_MS = 500


def spec() -> dict[str, Any]:
    return yaml.safe_load(LOCAL.read_text())["spec"]


def ms(duration: str) -> int:
    value, unit = re.fullmatch(r"(\d+)(ms|s)", duration).groups()  # type: ignore[union-attr]
    return int(value) * (1000 if unit == "s" else 1)


def local_backoff(name: str) -> tuple[int, int, int]:
    """(maxRetries, first delay ms, longest delay ms) of a local retry policy, as Dapr runs it."""
    policy = spec()["policies"]["retries"][name]
    if policy["policy"] == "constant":
        delay = ms(policy["duration"])
        return policy["maxRetries"], delay, delay
    return policy["maxRetries"], EXPONENTIAL_START_MS, ms(policy["maxInterval"])


def azure_backoff(text: str) -> tuple[int, int, int]:
    found = re.search(
        r"httpRetryPolicy: \{\s*maxRetries: (\d+),?\s*retryBackOff: \{ "
        r"initialDelayInMilliseconds: (\d+), maxIntervalInMilliseconds: (\d+) \}",
        text,
    )
    assert found, text[:300]
    retries, first, longest = (int(g) for g in found.groups())
    return retries, first, longest


def component_block(name: str) -> str:
    text = (BICEP / "dapr-components.bicep").read_text()
    start = text.index(f"'${{environmentName}}/{name}/resiliency'")
    end = text.find("\nresource ", start)
    return text[start : end if end != -1 else len(text)]


@pytest.mark.parametrize("name", sorted(spec()["policies"]["retries"]))
def test_retry_policies_use_only_keys_dapr_reads(name: str) -> None:
    policy = spec()["policies"]["retries"][name]
    assert set(policy) <= RETRY_KEYS, f"{name}: Dapr ignores {sorted(set(policy) - RETRY_KEYS)}"
    assert policy["policy"] in ("constant", "exponential")
    if policy["policy"] == "constant":
        assert "duration" in policy and "maxInterval" not in policy, name


def test_state_writes_retry_briefly() -> None:
    """An ETag conflict is final but still retried by the sidecar: it must cost little."""
    for store in ("statestore", "identitystore"):
        name = spec()["targets"]["components"][store]["outbound"]["retry"]
        retries, _first, longest = local_backoff(name)
        assert retries * longest <= 50, (store, retries, longest)


@pytest.mark.parametrize(
    ("component", "direction"),
    [
        ("statestore", "outbound"),
        ("identitystore", "outbound"),
        ("pubsub", "outbound"),
        ("pubsub", "inbound"),
    ],
)
def test_component_policies_match_azure(component: str, direction: str) -> None:
    name = spec()["targets"]["components"][component][direction]["retry"]
    block = component_block(component)
    part = block[block.index(f"{direction}Policy") :]
    assert azure_backoff(part) == local_backoff(name), (component, direction)


def test_app_invocation_policy_matches_azure() -> None:
    names = {t["retry"] for t in spec()["targets"]["apps"].values()}
    assert names == {"invokeRetry"}
    text = (BICEP / "apps.bicep").read_text()
    block = text[text.index("resource appResiliency") :]
    assert azure_backoff(block) == local_backoff("invokeRetry")
    codes = spec()["policies"]["retries"]["invokeRetry"]["matching"]["httpStatusCodes"]
    assert codes == "502-504"
    assert "matches: { httpStatusCodes: [ 502, 503, 504 ] }" in block
