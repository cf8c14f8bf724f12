"""Name an exported ensemble's members in its first model's sidecar, which the runtime reads
(runtime.member_names) to average their probabilities."""

from __future__ import annotations

import json
from pathlib import Path


def add_members(path: Path, entries: list[dict]) -> None:
    """`entries`: one {"file": NAME.onnx, ...provenance} per member, the model at `path` first;
    the others become its sidecar's "members", all of them its metadata's "ensemble"."""
    sidecar_path = Path(path).with_suffix(".json")
    sidecar = json.loads(sidecar_path.read_text())
    sidecar["members"] = [entry["file"] for entry in entries[1:]]
    sidecar["metadata"]["ensemble"] = entries
    sidecar_path.write_text(json.dumps(sidecar, indent=2) + "\n")
