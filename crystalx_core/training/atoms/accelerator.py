"""Run atoms.train on a machine without cctbx and warp (an accelerator lent for minutes).

    python crystalx_core/training/atoms/accelerator.py DATA.pkl.gz RUN --kind heavy --device cuda
    ...
    python crystalx_core/training/atoms/accelerator.py onnx-check onnx_models/heavy.onnx DATA.pkl.gz

takes train.py's arguments, or checks an exported heavy model with each onnxruntime execution
provider there (the answers against the CPU's, the time per structure). Training needs torch,
torchmd-net's model code, gemmi and scipy,
not the crystallography stack that crystalx_core/__init__ imports, so the package is entered
without running it. torchmd-net imports ase (atomic radii) and warp (its CUDA neighbour list)
at module level; neither is used here (the graph arrives as an edge list, atoms/model.py),
so where they are missing empty stand-ins take their place. The data set is a compact one
(atoms.samples.compact) whose edges load() rebuilds.
"""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2]


def _stand_in(name: str, **attributes) -> None:
    try:
        importlib.import_module(name)
        return
    except ImportError:
        pass
    module = types.ModuleType(name)
    module.__dict__.update(attributes)
    sys.modules[name] = module


def prepare() -> None:
    package = types.ModuleType("crystalx_core")
    package.__path__ = [str(PACKAGE)]
    sys.modules.setdefault("crystalx_core", package)
    import numpy as np

    _stand_in("ase")
    _stand_in("ase.data", covalent_radii=np.zeros(119))

    def no_neighbour_list(*args, **kwargs):
        raise RuntimeError("torchmd-net's own neighbour list is not available here")

    _stand_in("torchmdnet.extensions.ops", get_neighbor_pairs_kernel=no_neighbour_list)


def onnx_check(model: Path, data: Path, structures: int = 60) -> dict:
    """The heavy model on the validation examples' graphs with every execution provider
    onnxruntime offers here (the `gpu` extra brings CUDA): seconds per structure, and the
    largest logit difference from the CPU provider."""
    import time
    from importlib.metadata import version

    import numpy as np
    import onnxruntime

    from crystalx_core.features import combined_tokens, incoming_edges
    from crystalx_core.training.atoms.samples import load

    feeds = []
    for s in load(data)["val"]["heavy"][:structures]:
        edges = s["edge_index"].astype(np.int64)
        feeds.append(
            {
                "z": combined_tokens(s["z"].astype(np.int64), s["height_bin"]),
                "pos": s["pos"],
                "edge_index": edges,
                "incoming": incoming_edges(edges, len(s["z"])),
            }
        )
    available = onnxruntime.get_available_providers()
    report: dict = {
        "onnxruntime": version("onnxruntime"),
        "available": available,
        "structures": len(feeds),
    }
    reference = None
    for provider in [
        p for p in ("CPUExecutionProvider", "CUDAExecutionProvider") if p in available
    ]:
        session = onnxruntime.InferenceSession(str(model), providers=[provider])
        session.run(None, feeds[0])  # first call: kernels and memory
        started = time.perf_counter()
        logits = [session.run(None, feed)[0] for feed in feeds]
        row = {"seconds_per_structure": (time.perf_counter() - started) / len(feeds)}
        if reference is None:
            reference = logits
        else:
            row["max_logit_difference_from_cpu"] = float(
                max(np.abs(a - b).max() for a, b in zip(logits, reference))
            )
        report[provider] = row
    return report


if __name__ == "__main__":
    prepare()
    if sys.argv[1:2] == ["onnx-check"]:
        import json

        print(json.dumps(onnx_check(Path(sys.argv[2]), Path(sys.argv[3])), indent=1))
        sys.exit(0)
    from crystalx_core.training.atoms.train import main

    sys.exit(main())
