"""What `crystalx` does when the machine or the shell around it misbehaves: standard streams
closed or unwritable, a reader gone, a deleted current folder, packed or odd inputs, an
unwritable home, TMPDIR nowhere, LANG=C; cctbx's libtbx_env in the folder or another
cctbx's LIBTBX_BUILD, a read-only input folder, a FIFO or sparse .hkl, odd names (session 23).

    python benchmarks/hostile_machine.py [--tree PATH] [--session-23]

Runs each case through `sh -c` in a fresh temporary folder, with PYTHONPATH at --tree (default:
this checkout), and prints one table row per case: the exit code, what reached standard output
and standard error (first line, cut), and how many outputs (x_crystalx.*) were written. Run it
once per tree to compare (docs/benchmarks.md, session 22, s22hostile4).
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import subprocess
import sys
import tempfile
from pathlib import Path

STRUCTURE = (
    "TITL test\nCELL 0.71073 10 11 12 90 95 90\nZERR 4 0 0 0 0 0 0\nLATT 1\n"
    "SYMM -X, 1/2+Y, 1/2-Z\nSFAC C H O\nUNIT 8 8 4\nFVAR 1\nC1 1 0.1 0.2 0.3 11 0.03\n"
    "O1 3 0.22 0.2 0.3 11 0.03\nC2 1 0.1 0.33 0.3 11 0.03\nHKLF 4\nEND\n"
)
QUICK = "--method baseline --hydrogens rules"
CX = '"$0" -m crystalx_core.cli'

# a libtbx_env whose loading creates the file `ran`; another installation's (this one's, for 3.8)
PICKLE = (
    "import pickle, pathlib; "
    "open('libtbx_env', 'wb').write(pickle.dumps(type('R', (), "
    "{'__reduce__': lambda s: (pathlib.Path.touch, (pathlib.Path('ran'),))})()))"
)
FOREIGN = (
    "import os, pickle, libtbx.env_config as c; "
    "e = pickle.load(open(os.path.join(c.get_installed_path(), 'libtbx_env'), 'rb')); "
    "e.python_version_major_minor = (3, 8); os.mkdir('b'); "
    "open('b/libtbx_env', 'wb').write(pickle.dumps(e))"
)
# the command on a read-only bind mount of a folder holding x.res (root only)
READ_ONLY = (
    "mkdir ro && cp x.res ro/ && mount --bind ro ro && mount -o remount,ro,bind ro && {}; "
    "s=$?; umount ro; exit $s"
)

# (case, shell line run in the folder holding x.res; {abs} is that folder's full path)
CASES = [
    ("assign, stderr closed (2>&-)", f"exec {CX} assign x.res {QUICK} 2>&-"),
    ("batch, stderr closed (2>&-)", f"exec {CX} batch . {QUICK} 2>&-"),
    ("bad input --json, stderr closed", f"exec {CX} assign missing.res --json 2>&-"),
    ("bad input, stderr read-only fd", f"exec {CX} assign missing.res 2</dev/null"),
    ("bad input, stderr on /dev/full", f"exec {CX} assign missing.res 2>/dev/full"),
    ("assign, stdout closed (>&-)", f"exec {CX} assign x.res {QUICK} >&-"),
    (
        "assign, reader gone (`| true`)",
        f"{CX} assign x.res {QUICK} | true; exit ${{PIPESTATUS[0]}}",
    ),
    (
        "demo, reader gone (`| true`), PYTHONUNBUFFERED=1",
        f"PYTHONUNBUFFERED=1 {CX} demo --dir . --cycles 2 {QUICK} | true; exit ${{PIPESTATUS[0]}}",
    ),
    (
        "current folder deleted",
        f'mkdir gone && cd gone && rmdir "$PWD" && exec {CX} assign {{abs}}/x.res {QUICK}',
    ),
    ("x.res packed with bzip2", f"exec {CX} assign bz.res {QUICK}"),
    ("x.res packed with gzip", f"exec {CX} assign gz.res {QUICK}"),
    ("x.res in UTF-16 with BOM", f"exec {CX} assign u16.res {QUICK}"),
    ("x.res with CR-only line ends", f"exec {CX} assign cr.res {QUICK}"),
    ("input a FIFO", f"mkfifo f.res && exec {CX} assign f.res {QUICK}"),
    ("input /dev/null via x.res link", f"ln -s /dev/null n.res && exec {CX} assign n.res {QUICK}"),
    ("input a folder", f"mkdir d.res && exec {CX} assign d.res {QUICK}"),
    ("output name taken by a folder", f"mkdir x_crystalx.cif && exec {CX} assign x.res {QUICK}"),
    (
        "output a link to the input",
        f"ln -s x.res x_crystalx.res && exec {CX} assign x.res {QUICK}",
    ),
    (
        "models, HOME a folder",
        f"mkdir h && HOME=$PWD/h {CX} assign x.res >/dev/null; "
        'echo "$(find h -type f | wc -l) files put in HOME"',
    ),
    ("models, HOME not writable", f"touch h && HOME=$PWD/h exec {CX} assign x.res"),
    ("TMPDIR nowhere", f"TMPDIR=/nonexistent exec {CX} assign x.res {QUICK}"),
    (
        "LANG=C, non-ASCII name",
        f"cp x.res 'ü é.res' && LC_ALL=C exec {CX} assign 'ü é.res' {QUICK}",
    ),
    (
        "input name of 246 bytes (its default output's is over 255)",
        f"cp x.res {'x' * 246}.res && exec {CX} assign {'x' * 246}.res {QUICK}",
    ),
    (
        "stdout cp1252 (Windows redirect), --hkl",
        f"PYTHONIOENCODING=cp1252 exec {CX} assign urea.res --hkl urea.hkl --quiet {QUICK}",
    ),
]
# session 23 (s23hostile5)
SESSION_23 = [
    (
        "a text file named libtbx_env in the folder",
        f"echo x > libtbx_env && exec {CX} assign x.res {QUICK}",
    ),
    (
        "a libtbx_env pickle that runs code, in the folder",
        f"\"$0\" -c {PICKLE!r} && {CX} assign x.res {QUICK} >/dev/null; s=$?; "
        "if test -e ran; then echo 'the pickle ran'; else echo 'not run'; fi; exit $s",
    ),
    (
        "LIBTBX_BUILD of another cctbx (a Python 3.8 build)",
        f"\"$0\" -c {FOREIGN!r} && LIBTBX_BUILD=$PWD/b exec {CX} assign x.res {QUICK}",
    ),
    ("input folder read-only (assign)", READ_ONLY.format(f"{CX} assign ro/x.res {QUICK}")),
    ("input folder read-only (batch)", READ_ONLY.format(f"{CX} batch ro {QUICK}")),
    (".hkl a FIFO", f"mkfifo f.hkl && exec {CX} assign urea.res --hkl f.hkl {QUICK}"),
    (".hkl sparse, 3 GB", f"truncate -s 3G b.hkl && exec {CX} assign urea.res --hkl b.hkl {QUICK}"),
    (
        "x.hkl beside: a link to a drive not mounted (solve)",
        f"ln -s /media/raw/x.hkl x.hkl && exec {CX} solve x.res {QUICK}",
    ),
    (
        "x.hkl beside: a link to a drive not mounted (batch)",
        f"mkdir d && cp x.res d/ && ln -s /media/raw/x.hkl d/x.hkl && exec {CX} batch d {QUICK}",
    ),
    ("input named -x.res", f"cp x.res ./-x.res && exec {CX} assign -x.res {QUICK}"),
    ("input named -x.res, after --", f"cp x.res ./-x.res && exec {CX} assign {QUICK} -- -x.res"),
    (
        "input name with a newline",
        f"cp x.res 'a\nb.res' && exec {CX} assign 'a\nb.res' {QUICK}",
    ),
]
# XH_urea as published, with its reflections (the refinement's report holds e Å⁻³)
UREA = Path(__file__).resolve().parents[2] / "shared" / "data" / "benchmark" / "XH_urea"


def prepare(folder: Path) -> None:
    data = STRUCTURE.encode()
    (folder / "x.res").write_bytes(data)
    (folder / "bz.res").write_bytes(bz2.compress(data))
    (folder / "gz.res").write_bytes(gzip.compress(data))
    (folder / "u16.res").write_bytes(STRUCTURE.encode("utf-16"))
    (folder / "cr.res").write_bytes(data.replace(b"\n", b"\r"))
    for name, copy in (("published.res", "urea.res"), ("data.hkl", "urea.hkl")):
        if (UREA / name).is_file():
            (folder / copy).write_bytes((UREA / name).read_bytes())


def first_line(text: str, width: int = 60) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    line = line.replace("\x1b", "ESC").replace("|", "/")
    return (line[: width - 1] + "…") if len(line) > width else line


def run(tree: Path, case: str, line: str) -> str:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        prepare(folder)
        env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin", "HOME": scratch}
        done = subprocess.run(
            ["bash", "-c", line.replace("{abs}", str(folder)), sys.executable],
            cwd=folder,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="backslashreplace",
            env=env,
            timeout=600,
        )
        outputs = len(list(folder.rglob("*_crystalx.*")))
        stdout = first_line(done.stdout)
        case = case.replace("|", "\\|")  # a table cell
        return (
            f"| {case} | {done.returncode} | {stdout or '–'} | "
            f"{first_line(done.stderr) or '–'} | {outputs} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument(
        "--session-23", action="store_true", help="only the cases added in session 23"
    )
    args = parser.parse_args()
    print(f"tree {args.tree}")
    print("| case | exit | stdout (first line) | stderr (first line) | outputs |")
    print("|---|---|---|---|---|")
    for case, line in SESSION_23 if args.session_23 else CASES + SESSION_23:
        print(run(args.tree.resolve(), case, line).replace("\n", " "), flush=True)


if __name__ == "__main__":
    main()
