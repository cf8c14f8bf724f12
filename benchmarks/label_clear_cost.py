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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from answer_check_cost import P1, median_ms, olex2_double, q_peaks  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flagged", type=int, nargs="+", default=[5, 50, 500])
    args = parser.parse_args(argv)
    state, olex, olx, olex_core = olex2_double()
    session_module = importlib.import_module("crystalx_plugin.session")
    settings = {"label_overlay": True}.get
    session = session_module.Session(olex, olx, olex_core, None, settings, ".")
    for n in args.flagged:
        state.load((30.0, 30.0, 30.0, 90.0, 90.0, 90.0), P1, [("C", n)], 1, q_peaks(n))

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
