"""The storefront does what its OpenAPI document says: a short generated pass (fixed seed,
small budget; `./taskw fuzz` runs a long one) over every operation, signed in as a customer,
with the stateful phase: no server error, no undocumented status, `Allow` on every 405, no
schema-valid request refused, every response as its schema says."""

import subprocess
import sys

from tests.harness import Cluster

ROOT_CMD = [sys.executable, "-m", "scripts.fuzz"]


def test_generated_requests_get_documented_answers(cluster: Cluster) -> None:
    proc = subprocess.run(
        [
            *ROOT_CMD,
            "--url",
            cluster.apps["storefront"].url,
            "--max-examples",
            "5",
            "--seed",
            "20261201",
            "--max-time",
            "120",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    print(proc.stdout[-20000:])
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-2000:]
