"""What taking the plugin's labels back one by one costs (Session.clear_labels: per label an
atom's id, site and one `Label #c<id>=`, instead of one `kill labels` that hid the user's
labels too), timed in the Olex2 test double for answers that flag a few to many atoms, beside
labelling them (Session.mark). The double's olx is Python; in Olex2 each call crosses into C++,
so these are the plugin's share, not Olex2's.

    PYTHONPATH=. python benchmarks/label_clear_cost.py [--flagged 5 50 500]
"""

import argparse
import importlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOUBLE, PLUGIN = ROOT / "tests" / "olex2_double", ROOT / "plugin" / "plugin-CrystalX"
P1 = [((1, 0, 0, 0.0), (0, 1, 0, 0.0), (0, 0, 1, 0.0))]


def median_ms(function, runs=7):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1000 * sorted(times)[runs // 2]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flagged", type=int, nargs="+", default=[5, 50, 500])
    args = parser.parse_args(argv)
    sys.path[:0] = [str(DOUBLE), str(PLUGIN)]
    state = importlib.import_module("_olex2").STATE
    session_module = importlib.import_module("crystalx_plugin.session")
    olex, olx, olex_core = (importlib.import_module(n) for n in ("olex", "olx", "olex_core"))
    settings = {"label_overlay": True}.get
    session = session_module.Session(olex, olx, olex_core, None, settings, ".")
    for n in args.flagged:
        atoms = [
            ("Q%d" % (k + 1), "Q", ((k * 0.618) % 1, (k * 0.377) % 1, (k * 0.211) % 1))
            for k in range(n)
        ]
        state.load((30.0, 30.0, 30.0, 90.0, 90.0, 90.0), P1, [("C", n)], 1, atoms)

        def mark(n=n):
            session.labelled = []  # so that mark() labels only, taking nothing back first
            session.to_check = [(k, "C 0.62") for k in range(n)]
            session.mark()

        def mark_and_clear():
            mark()
            session.clear_labels()

        marking = median_ms(mark)
        both = median_ms(mark_and_clear)
        print(
            "%4d flagged atoms: labelling %.2f ms, taking the labels back %.2f ms "
            "(medians of 7)" % (n, marking, max(both - marking, 0.0))
        )


if __name__ == "__main__":
    main()
