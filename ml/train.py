"""Train every model (`./taskw train`); `--if-missing` trains only what is absent or was
trained on another feature schema (what `./taskw up` and the test harness run)."""

import argparse

from ml.forecast import train as forecast
from ml.fraud import train as fraud
from ml.pricing import train as pricing
from ml.recommendations import train as recommendations


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--if-missing", action="store_true")
    args = parser.parse_args(argv)
    flags = ["--if-missing"] if args.if_missing else []
    fraud.main(flags)
    forecast.main(flags)
    pricing.main(flags)
    recommendations.main(flags)


if __name__ == "__main__":
    main()
