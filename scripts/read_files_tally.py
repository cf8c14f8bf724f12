"""Run `crystalx assign` on every file named and count how each ends: read (exit 0 or 5),
refused in one line (an error exit other than 70 with one `crystalx: error:` line on stderr:
a refused input, 2, or usage; the solve, refine and output exits 3, 4 and 73 count too, which
`assign` without --hkl does not give), an internal error (exit 70: the CLI caught an
exception no reader turned into an error, and says so in one line: a bug all the same) or a
traceback (any exception the CLI let through). The baseline method is used: what is
measured is the reading, not the models.

    python scripts/read_files_tally.py OUT.csv FILE...   (e.g. ../shared/data/corpus/*.cif)
    python scripts/read_files_tally.py --model X.res OUT.csv HKL...   (`assign X.res --hkl HKL`:
        each FILE is a reflection file, read end to end with one model)

OUT.csv gets one row per file: name, class, exit code, seconds, the last line of stderr.
Outputs go to a temporary folder, never beside the inputs.
"""

from __future__ import annotations

import contextlib
import csv
import io
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.cli import EXIT_INTERNAL
from crystalx_core.cli import main as crystalx


def classify(code: int, stderr: str) -> str:
    """The class of a run from its exit code (crystalx_core.cli's EXIT_*) and its stderr."""
    lines = stderr.splitlines()
    if "Traceback" in stderr:
        return "traceback"
    if code in (0, 5):
        return "read"
    if code == EXIT_INTERNAL:
        return "internal error"
    if len(lines) == 1 and lines[0].startswith("crystalx: error:"):
        return "one-line error"
    return "other"


def run(path: str, folder: str, model: str | None = None) -> tuple[str, int, float, str]:
    """(class, exit code, seconds, last stderr line) of `crystalx assign path`, or of
    `crystalx assign model --hkl path`."""
    err = io.StringIO()
    start = time.perf_counter()
    args = ["assign", model or path, "--out", folder + "/", "--quiet"]
    args += ["--hkl", path] if model else []
    args += ["--method", "baseline", "--hydrogens", "rules"]
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = crystalx(args)
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        except Exception as error:  # noqa: BLE001  (what is counted is exactly this)
            code = EXIT_INTERNAL
            err.write(f"Traceback: {type(error).__name__}: {error}\n")
    text = err.getvalue().strip()
    last = text.splitlines()[-1][:300] if text else ""
    return classify(code, text), code, round(time.perf_counter() - start, 2), last


def main(argv: list[str]) -> int:
    model = None
    if argv[:1] == ["--model"]:
        model, argv = argv[1], argv[2:]
    out, files = argv[0], argv[1:]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for k, path in enumerate(files):
            folder = Path(scratch) / str(k)
            folder.mkdir()
            rows.append((Path(path).name, *run(path, str(folder), model)))
    with open(out, "w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    counts = Counter(row[1] for row in rows)
    print(f"{len(rows)} files: " + ", ".join(f"{n} {kind}" for kind, n in counts.most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
