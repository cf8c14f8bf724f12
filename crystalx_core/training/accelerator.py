"""Run training.train on a machine without cctbx and warp (an accelerator lent for minutes).

    python crystalx_core/training/accelerator.py DATA.pkl.gz RUN --kind heavy --device cuda ...

takes train.py's arguments. Training needs torch, torchmd-net's model code, gemmi and scipy,
not the crystallography stack that crystalx_core/__init__ imports, so the package is entered
without running it. torchmd-net imports ase (atomic radii) and warp (its CUDA neighbour list)
at module level; neither is used here (the graph arrives as an edge list, training/model.py),
so where they are missing empty stand-ins take their place. The data set is a compact one
(training.samples.compact) whose edges load() rebuilds.
"""
from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]


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


if __name__ == "__main__":
    prepare()
    from crystalx_core.training.train import main
    sys.exit(main())
