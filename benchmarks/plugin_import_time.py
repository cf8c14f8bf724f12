"""How long Olex2 waits for `import CrystalX` (at start, or from the scheduled macro of a
deferred import: initpy_funcs.py import_startup_plugins_deferred), timed in the Olex2 test
double with no core interpreter set, so only the plugin's own work is counted.

    python benchmarks/plugin_import_time.py [--runs N]
"""

import argparse
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ONE_IMPORT = """
import sys, time
sys.path[:0] = [{double!r}, {plugin!r}]
from _olex2 import STATE
STATE.params.update({{"_data_dir": {data!r}, "_base_dir": {data!r},
                      "crystalx.core_interpreter": "", "crystalx.core_directory": {root!r}}})
start = time.perf_counter()
import CrystalX
sys.stderr.write("%.1f\\n" % ((time.perf_counter() - start) * 1000))
"""


def import_ms():
    """One fresh interpreter's `import CrystalX`, in milliseconds."""
    with tempfile.TemporaryDirectory() as data:
        code = ONE_IMPORT.format(
            double=os.path.join(ROOT, "tests", "olex2_double"),
            plugin=os.path.join(ROOT, "plugin", "plugin-CrystalX"),
            data=data,
            root=ROOT,
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
    return float(done.stderr.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    times = [import_ms() for _ in range(args.runs)]
    print(
        "import CrystalX in the Olex2 double: %s ms (%d runs)"
        % (", ".join("%.0f" % t for t in times), args.runs)
    )


if __name__ == "__main__":
    main()
