"""Loading a trained model's directory: the ML apps refuse to start on a missing model or
one that does not fit their code, with a message saying how to fix it."""

import json
from pathlib import Path
from typing import Any


class ModelError(RuntimeError):
    """The model is missing or does not fit this code (the app refuses to start)."""


def read_meta(directory: Path, name: str, expected: dict[str, Any]) -> dict[str, Any]:
    """`model.json` of `directory`, after checking each `expected` key (a feature schema,
    a feature list, a file format) matches what this code computes."""
    path = directory / "model.json"
    if not path.exists():
        raise ModelError(
            f"No {name} model in {directory}: run `./taskw train` (or `./taskw up`, which "
            "trains on first run)"
        )
    meta: dict[str, Any] = json.loads(path.read_text())
    for key, value in expected.items():
        if meta.get(key) != value:
            raise ModelError(
                f"The {name} model in {directory} has {key} {meta.get(key)!r}, this code "
                f"needs {value!r}: retrain with `./taskw train`"
            )
    return meta


def usable(directory: Path, name: str, expected: dict[str, Any]) -> bool:
    """For `--if-missing`: a model is there and fits."""
    try:
        read_meta(directory, name, expected)
        return True
    except (ModelError, ValueError):
        return False


def limit_native_threads(limit: int) -> list[dict[str, Any]]:
    """At most `limit` threads in every native pool (OpenMP, BLAS) loaded so far: one per
    prediction on a small machine, where pools spinning for a tiny batch cost more (the
    sidecars' CPU, latency tails) than they gain. Call it after the model is loaded: a
    library loaded later (scikit-learn's OpenMP comes with the unpickled model) keeps its
    default pool."""
    from threadpoolctl import threadpool_info, threadpool_limits

    threadpool_limits(limits=limit)
    return list(threadpool_info())
