"""What every training pipeline shares: a model's version and writing its directory."""

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def version(prefix: str, inputs: list[Path], params: dict[str, Any]) -> str:
    """`{prefix}-{hash}`: the same data and parameters give the same version."""
    digest = hashlib.sha256()
    for path in inputs:
        digest.update(path.read_bytes())
    digest.update(json.dumps(params, sort_keys=True).encode())
    return f"{prefix}-{digest.hexdigest()[:10]}"


def write_model_dir(
    out: Path,
    meta: dict[str, Any],
    metrics: dict[str, Any],
    files: Callable[[Path], None] = lambda _: None,
) -> None:
    """`files(tmp)` writes the model's own files; `model.json` (meta plus the training time)
    and `metrics.json` are added, and the directory is swapped in whole: a reader never
    sees half a model."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        files(tmp)
        stamped = {**meta, "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        (tmp / "model.json").write_text(json.dumps(stamped, indent=2))
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2))
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
