"""What the plugin's check that an answer still fits the open model costs: one more reading
of the model through olx (Session.unchanged_since, run when the core's answer arrives and on
Apply), timed in the Olex2 test double beside the request's own reading (read_model), for
structures of a few to a thousand Q-peaks. The double's olx is Python; in Olex2 each olx call
crosses into C++, so these are the plugin's share, not Olex2's.

    PYTHONPATH=. python benchmarks/answer_check_cost.py [--sizes 23 200 999]
"""

import argparse
import importlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOUBLE, PLUGIN = ROOT / "tests" / "olex2_double", ROOT / "plugin" / "plugin-CrystalX"
P1 = [((1, 0, 0, 0.0), (0, 1, 0, 0.0), (0, 0, 1, 0.0))]


def olex2_double():
    """The Olex2 test double's state and its olex, olx, olex_core, with the plugin importable."""
    sys.path[:0] = [str(DOUBLE), str(PLUGIN)]
    state = importlib.import_module("_olex2").STATE
    return (state, *(importlib.import_module(n) for n in ("olex", "olx", "olex_core")))


def q_peaks(n):
    """n Q-peaks spread over the cell, labels of at most 4 characters, as Olex2 keeps them."""
    return [
        ("Q%d" % (k + 1), "Q", ((k * 0.618) % 1, (k * 0.377) % 1, (k * 0.211) % 1))
        for k in range(n)
    ]


def median_ms(function, runs=7):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1000 * sorted(times)[runs // 2]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[23, 200, 999])
    args = parser.parse_args(argv)
    state, olex, olx, olex_core = olex2_double()
    olex_model = importlib.import_module("crystalx_plugin.olex_model")
    session_module = importlib.import_module("crystalx_plugin.session")
    session = session_module.Session(olex, olx, olex_core, None, lambda name: None, ".")
    for n in args.sizes:
        state.load((30.0, 30.0, 30.0, 90.0, 90.0, 90.0), P1, [("C", n)], 1, q_peaks(n))
        model = olex_model.read_model(olx, olex_core)
        reading = median_ms(lambda: olex_model.read_model(olx, olex_core))
        check = median_ms(lambda model=model: session.unchanged_since(model))
        print(
            "%4d sites: reading the model %.1f ms, the answer's check %.1f ms (medians of 7)"
            % (n, reading, check)
        )


if __name__ == "__main__":
    main()
