"""Coverage-guided fuzzing of the readers and the service with atheris (longer than the suite).

Each input must parse or raise a CrystalXError with a message; any other exception, a hang
(libFuzzer -timeout, seconds per input) or a memory blow-up (-rss_limit_mb) is a crash that
libFuzzer reports with the input saved as crash-*/timeout-*/oom-*. Seeds are real files.

    pip install -e '.[cpu,fuzz]'
    python benchmarks/fuzz_readers.py shelx ../shared/data/benchmark -runs=20000 -timeout=10
    -rss_limit_mb=4096
    python benchmarks/fuzz_readers.py pxrd tests/data -runs=20000 -timeout=10 -rss_limit_mb=4096
    (targets: shelx, hkl, cif, fcf, service, pxrd; libFuzzer flags follow the folder; pxrd's
    seeds are the folder's powder patterns, any format `crystalx pxrd` reads)

Every REPORT_EVERY inputs it prints how many were tried and how many were refused with our error.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import crystalx_core  # noqa: F401  (cctbx before gemmi, and before atheris: boost_python crashes after it)

import atheris  # noqa: E402

with atheris.instrument_imports(include=["crystalx_core"]):
    from crystalx_core.errors import CrystalXError
    from crystalx_core.io import read_reflections
    from crystalx_core.io.cif import read_cif
    from crystalx_core.io.hkl import reflections_from_text
    from crystalx_core.io.shelx_read import parse_shelx
    from crystalx_core.pxrd.patterns import read_pattern
    from crystalx_core.service import reply_to

SEED_FILES = {
    "shelx": "*/published.res",
    "hkl": "XH_urea/data.hkl",
    "cif": "*/model.cif",
    "fcf": "XH_urea/data.hkl",  # written as SHELXL .fcf files (LIST 4, LIST 6) by seeds()
    "service": None,
    "pxrd": "*",
}
# the powder formats patterns.read_pattern tells apart by content (docs/pxrd_formats.md)
PATTERN_SUFFIXES = {
    ".xy",
    ".xye",
    ".csv",
    ".dat",
    ".txt",
    ".chi",
    ".xrdml",
    ".ras",
    ".rasx",
    ".raw",
    ".uxd",
    ".gsa",
    ".gss",
    ".fxye",
    ".cif",
    ".ttx",
}
COUNTS = {"inputs": 0, "refused": 0}
REPORT_EVERY = 1000
# libFuzzer leaves with _exit, so nothing can clean up afterwards: CRYSTALX_FUZZ_DIR (the
# tests pass their own temporary folder) holds the scratch CIF and the growing corpus
WORK = Path(os.environ.get("CRYSTALX_FUZZ_DIR") or tempfile.mkdtemp(prefix="crystalx_fuzz_"))
CIF_PATH = WORK / "input.cif"
FCF_PATH = WORK / "input.fcf"
PATTERN_PATH = WORK / "input.pattern"


def read_shelx(data: bytes) -> None:
    parse_shelx(data.decode("latin-1"), "fuzz.res").to_structure()


def read_hkl(data: bytes) -> None:
    reflections_from_text(data.decode("latin-1"), "fuzz.hkl")


def read_cif_bytes(data: bytes) -> None:
    CIF_PATH.write_bytes(data)
    read_cif(CIF_PATH)


def read_fcf_bytes(data: bytes) -> None:
    FCF_PATH.write_bytes(data)
    read_reflections(FCF_PATH)


def read_pattern_bytes(data: bytes) -> None:
    """A file, since read_pattern tells binary and zipped formats apart from what it reads."""
    PATTERN_PATH.write_bytes(data)
    read_pattern(PATTERN_PATH)


def fcf_seeds(hkl: Path) -> list[bytes]:
    """LIST 4 and LIST 6 .fcf files of a real reflection file's first reflections."""
    rows = [line.split() for line in hkl.read_text().splitlines()[:300] if len(line.split()) >= 5]
    head = "data_x\n_shelx_refln_list_code {}\nloop_\n _refln_index_h\n _refln_index_k\n"
    head += " _refln_index_l\n"
    list4 = head.format(4) + "".join(
        f" _refln_{tag}\n" for tag in ("F_squared_calc", "F_squared_meas", "F_squared_sigma")
    )
    list4 += " _refln_observed_status\n" + "".join(
        f"{h} {k} {l} {i} {i} {s} {'ox-<'[n % 4]}\n" for n, (h, k, l, i, s, *_) in enumerate(rows)
    )
    list6 = head.format(6) + "".join(
        f" _refln_{tag}\n" for tag in ("F_squared_meas", "F_squared_sigma", "F_calc", "phase_calc")
    )
    list6 += "".join(f"{h} {k} {l} {i} {s} 1.0 180\n" for h, k, l, i, s, *_ in rows)
    return [list4.encode(), list6.encode()]


def ask_service(data: bytes) -> None:
    reply, keep_running = reply_to(data)
    if not keep_running or ("result" in reply) == ("error" in reply):
        raise AssertionError(f"service reply breaks the protocol: {reply}")
    if (
        reply.get("error", {}).get("code") == "internal"
    ):  # the service survives a bug; the fuzzer must not
        raise AssertionError(f"internal error: {reply['error']['message']}")
    COUNTS["refused"] += "error" in reply


TARGETS = {
    "shelx": read_shelx,
    "hkl": read_hkl,
    "cif": read_cif_bytes,
    "fcf": read_fcf_bytes,
    "service": ask_service,
    "pxrd": read_pattern_bytes,
}


def seeds(target: str, folder: Path) -> list[bytes]:
    if target == "service":
        snapshot = {
            "cell": [10, 11, 12, 90, 95, 90],
            "symops": ["x,y,z", "-x,y+1/2,-z"],
            "sfac": ["C", "O"],
            "unit": [8, 2],
            "sites": [
                {"label": f"Q{k}", "frac": [0.1 * k % 1, 0.23, 0.31 * k % 1], "peak_height": 10 - k}
                for k in range(1, 7)
            ],
        }
        return [
            json.dumps(
                {"protocol": 1, "id": 1, "method": method, "params": {"structure": snapshot}}
            ).encode()
            for method in ("ping", "assign", "apply-plan")
        ]
    files = sorted(folder.glob(SEED_FILES[target]))
    if target == "pxrd":
        files = [path for path in files if path.suffix.lower() in PATTERN_SUFFIXES]
    if target == "fcf":
        return [seed for path in files for seed in fcf_seeds(path)]
    return [p.read_bytes()[:200_000] for p in files]


def main() -> None:
    if len(sys.argv) < 3 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(TARGETS)}}} SEED_FOLDER [libFuzzer flags]")
    target, folder = sys.argv[1], Path(sys.argv[2])
    read = TARGETS[target]

    def one_input(data: bytes) -> None:
        COUNTS["inputs"] += 1
        try:
            read(data)
        except CrystalXError as error:
            COUNTS["refused"] += 1
            if not error.one_line().strip():
                raise AssertionError("CrystalXError without a message") from None
        if COUNTS["inputs"] % REPORT_EVERY == 0:  # libFuzzer leaves with _exit: no atexit summary
            print(
                f"crystalx {target}: {COUNTS['inputs']} inputs tried, {COUNTS['refused']} refused "
                "with our "
                "error, none raised anything else",
                file=sys.stderr,
                flush=True,
            )

    corpus = WORK / f"corpus_{target}"
    corpus.mkdir(parents=True, exist_ok=True)
    for k, seed in enumerate(seeds(target, folder)):
        (corpus / f"seed{k}").write_bytes(seed)
    os.environ.setdefault("CRYSTALX_THREADS", "1")
    atheris.Setup([sys.argv[0], *sys.argv[3:], str(corpus)], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
