"""Waits until every app of dapr.yaml answers 200 on /health/ready, printing progress."""

import argparse
import sys
import time
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, default=180)
    args = parser.parse_args()
    apps = {
        a["appID"]: a["appPort"] for a in yaml.safe_load((ROOT / "dapr.yaml").read_text())["apps"]
    }
    pending = dict(apps)
    deadline = time.monotonic() + args.timeout
    last_report = 0.0
    while pending and time.monotonic() < deadline:
        for app_id, port in list(pending.items()):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).status_code == 200:
                    print(f"    {app_id:<12} ready on :{port}", flush=True)
                    del pending[app_id]
            except httpx.HTTPError:
                pass
        if pending and time.monotonic() - last_report > 10:
            print(f"    waiting for {', '.join(sorted(pending))} ...", flush=True)
            last_report = time.monotonic()
        time.sleep(0.5)
    if pending:
        print(
            f"    not ready after {args.timeout:.0f} s: {', '.join(sorted(pending))}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
