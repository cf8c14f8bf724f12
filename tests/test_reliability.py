"""Failure as a tested property: every input either parses or raises our own error with a
message, in bounded time; the service always answers; the user's files are never touched.

The counts of generated inputs are fixed per test (EXAMPLES); `benchmarks/fuzz_readers.py`
runs the same readers under atheris for longer campaigns.
"""

import hashlib
import io
import json
import math
import os
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crystalx_core import cli
from crystalx_core.errors import CrystalXError
from crystalx_core.io.cif import read_cif
from crystalx_core.io.hkl import reflections_from_text
from crystalx_core.io.shelx_read import parse_shelx
from crystalx_core.service import reply_to, serve

from .conftest import BENCHMARK

PXRD_SEEDS = Path(__file__).parent / "data"  # real powder patterns (RAW4, .TTX, .xy)

EXAMPLES = 150
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=5000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
RES = (
    (BENCHMARK / "FC_sucrose" / "published.res").read_text()
    if BENCHMARK.is_dir()
    else "TITL x\nEND\n"
)
HKL = (
    "".join((BENCHMARK / "XH_urea" / "data.hkl").read_text().splitlines(True)[:200])
    if BENCHMARK.is_dir()
    else ""
)
CIF = (BENCHMARK / "XH_urea" / "model.cif").read_text() if BENCHMARK.is_dir() else "data_x\n"


def mutated(text: str, seed: int, edits: int) -> str:
    """A real file damaged the way files get damaged: lines lost, duplicated or swapped,
    characters replaced, numbers made absurd, the end cut off."""
    rng = random.Random(seed)
    lines = text.splitlines(True)
    for _ in range(edits):
        if not lines:
            break
        k = rng.randrange(len(lines))
        action = rng.randrange(6)
        if action == 0:
            del lines[k]
        elif action == 1:
            lines.insert(k, lines[rng.randrange(len(lines))])
        elif action == 2:
            line = lines[k]
            if line:
                j = rng.randrange(len(line))
                lines[k] = line[:j] + rng.choice("0-.e9 =\t!'\"_;#xQ\u00e9\x00") + line[j + 1 :]
        elif action == 3:
            lines[k] = " ".join(
                rng.choice(["nan", "inf", "-1e308", "1e308", "0", "-0", "999999999999"])
                if w.replace(".", "").replace("-", "").isdigit()
                else w
                for w in lines[k].split(" ")
            )
        elif action == 4:
            lines = lines[:k]
        else:
            j = rng.randrange(len(lines))
            lines[k], lines[j] = lines[j], lines[k]
    return "".join(lines)


def accepts_or_refuses(read, text):
    """The reader returns, or raises a CrystalXError with a message; anything else is a bug."""
    try:
        read(text)
    except CrystalXError as error:
        assert error.one_line().strip()


# --- readers ------------------------------------------------------------------------------------


@FUZZ
@given(seed=st.integers(0, 2**32), edits=st.integers(1, 12))
def test_damaged_shelx_files(shared_data, seed, edits):
    accepts_or_refuses(lambda t: parse_shelx(t, "x.res").to_structure(), mutated(RES, seed, edits))


@FUZZ
@given(
    text=st.text(
        alphabet=st.sampled_from(list("CELLSFACUNITLATTSYMMQ1 0.5-=\n\tHKLF4ENDAFIXPART!x,y,z")),
        max_size=400,
    )
)
def test_arbitrary_shelx_like_text(text):
    accepts_or_refuses(lambda t: parse_shelx(t, "x.ins").to_structure(), text)


@FUZZ
@given(seed=st.integers(0, 2**32), edits=st.integers(1, 12))
def test_damaged_hkl_files(shared_data, seed, edits):
    accepts_or_refuses(lambda t: reflections_from_text(t, "x.hkl"), mutated(HKL, seed, edits))


@FUZZ
@given(text=st.text(alphabet=st.sampled_from(list("0123456789 -.\n+eE")), max_size=600))
def test_arbitrary_hkl_like_text(text):
    accepts_or_refuses(lambda t: reflections_from_text(t, "x.hkl"), text)


@FUZZ
@given(seed=st.integers(0, 2**32), edits=st.integers(1, 12))
def test_damaged_cif_files(shared_data, tmp_path_factory, seed, edits):
    path = tmp_path_factory.mktemp("cif") / "x.cif"
    path.write_text(mutated(CIF, seed, edits))
    accepts_or_refuses(lambda _: read_cif(path), None)


def test_a_cif_with_latin1_names_is_read(shared_data, tmp_path):
    """Old CIFs carry Latin-1 author names; gemmi alone raised UnicodeDecodeError (atheris find)."""
    path = tmp_path / "latin1.cif"
    path.write_bytes(
        CIF.encode().replace(
            b"_shelx_res_file\n;\n", b"_shelx_res_file\n;\nREM J\xf6rg M\xfcller\n"
        )
        + b"_publ_contact_author_name 'M\xfcller, J\xf6rg'\n"
    )
    entry = read_cif(path)
    assert entry.structure.sites and "REM Jörg Müller" in entry.shelx_res_text


@pytest.mark.parametrize("target", ["shelx", "hkl", "cif", "fcf", "service", "pxrd"])
def test_the_atheris_harness_runs_clean(shared_data, tmp_path, target):
    """A short coverage-guided run per target; benchmarks/fuzz_readers.py runs long campaigns."""
    pytest.importorskip("atheris")
    import subprocess
    import sys
    from pathlib import Path

    harness = Path(__file__).parent.parent / "benchmarks" / "fuzz_readers.py"
    import os

    run = subprocess.run(
        [
            sys.executable,
            str(harness),
            target,
            str(PXRD_SEEDS if target == "pxrd" else BENCHMARK),
            "-runs=1000",
            "-timeout=10",
            "-rss_limit_mb=4096",
            "-seed=1",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "CRYSTALX_FUZZ_DIR": str(tmp_path)},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert f"crystalx {target}: 1000 inputs tried" in run.stderr
    assert not list(tmp_path.glob("crash-*"))


# --- the service --------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)
SNAPSHOT = {
    "cell": [10.0, 11.0, 12.0, 90.0, 95.0, 90.0],
    "symops": ["x,y,z", "-x,y+1/2,-z"],
    "sfac": ["C", "O"],
    "unit": [8, 2],
    "sites": [
        {"label": f"Q{k}", "frac": [0.1 * k % 1, 0.23, 0.31 * k % 1], "peak_height": 10.0 - k}
        for k in range(1, 7)
    ],
}


@FUZZ
@given(request=JSON)
def test_the_service_answers_any_json(request):
    reply, keep_running = reply_to(json.dumps(request).encode())
    assert keep_running and ("result" in reply) != ("error" in reply)


@FUZZ
@given(
    path=st.sampled_from(["cell", "symops", "sfac", "unit", "sites"]),
    value=JSON,
    method=st.sampled_from(["assign", "apply-plan"]),
)
def test_the_service_answers_damaged_snapshots(path, value, method):
    snapshot = {**SNAPSHOT, path: value}
    plan = (
        {"plan": {"sites": value}} if method == "apply-plan" else {}
    )  # assign refuses an unknown field
    line = json.dumps(
        {"protocol": 1, "id": 1, "method": method, "params": {"structure": snapshot, **plan}}
    )
    reply, keep_running = reply_to(line.encode())
    assert keep_running and reply["id"] == 1 and ("result" in reply) != ("error" in reply)


@FUZZ
@given(data=st.binary(max_size=300))
def test_the_service_loop_survives_raw_bytes(data):
    out = io.BytesIO()
    assert (
        serve(
            io.BytesIO(
                data
                + b"\n"
                + json.dumps({"protocol": 1, "id": "last", "method": "ping"}).encode()
                + b"\n"
            ),
            out,
        )
        == 0
    )
    replies = [json.loads(line) for line in out.getvalue().splitlines()]
    assert replies and replies[-1]["id"] == "last" and "result" in replies[-1]


def test_a_client_that_disconnects_mid_request_ends_the_service_quietly():
    """The plugin dies while writing a request: the half line is refused, the loop ends with 0."""
    out = io.BytesIO()
    half = json.dumps(
        {"protocol": 1, "id": 7, "method": "assign", "params": {"structure": SNAPSHOT}}
    ).encode()[:60]
    assert serve(io.BytesIO(b'{"protocol": 1, "id": 1, "method": "ping"}\n' + half), out) == 0
    replies = [json.loads(line) for line in out.getvalue().splitlines()]
    assert replies[0]["id"] == 1 and "result" in replies[0]
    assert all("error" in r for r in replies[1:])


# --- the user's files -----------------------------------------------------------------------------


@settings(
    max_examples=30, deadline=20000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32), edits=st.integers(1, 6))
def test_a_failed_job_writes_nothing_and_never_touches_the_input(
    shared_data, tmp_path_factory, seed, edits
):
    folder = tmp_path_factory.mktemp("job")
    source = folder / "x.res"
    source.write_text(mutated(RES, seed, edits))
    before = hashlib.sha256(source.read_bytes()).hexdigest()
    code = cli.main(["assign", str(source), "--quiet", "--method", "baseline"])
    assert hashlib.sha256(source.read_bytes()).hexdigest() == before
    outputs = sorted(p.name for p in folder.iterdir() if p.name != "x.res")
    assert (code == 0 and outputs == ["x_crystalx.cif", "x_crystalx.json", "x_crystalx.res"]) or (
        code in (1, 2, 3, 4) and outputs == []
    )


def test_outputs_are_backed_up_and_never_overwrite_inputs(shared_data, tmp_path):
    source = tmp_path / "x.res"
    source.write_text(RES)
    assert cli.main(["assign", str(source), "--quiet", "--method", "baseline"]) == 0
    first = (tmp_path / "x_crystalx.res").read_bytes()
    assert cli.main(["assign", str(source), "--quiet", "--method", "baseline"]) == 0
    assert (tmp_path / "x_crystalx.res.bak").read_bytes() == first
    assert (
        cli.main(["assign", str(source), "--quiet", "--out", str(tmp_path / "x")]) == 73
    )  # x.res is the input: an output that cannot be written (EX_CANTCREAT), as README says


def test_concurrent_writers_never_leave_a_torn_or_missing_output(tmp_path):
    """Batch workers (or two Olex2 sessions) writing one output at once: every file left is
    one writer's text whole, each writer's backup is its own, no temporaries remain."""
    from concurrent.futures import ThreadPoolExecutor

    from crystalx_core.outputs import write_outputs

    target = tmp_path / "x_crystalx.res"
    target.write_text("original\n")
    texts = [f"writer {k}\n" + "x" * (200_000 + k) + "\n" for k in range(16)]
    with ThreadPoolExecutor(8) as pool:
        backups = [
            b
            for result in pool.map(lambda t: write_outputs({target: t}), texts * 3)
            for b in result
        ]
    assert len(backups) == len(set(backups)) == len(texts) * 3
    left = {p.read_text() for p in tmp_path.iterdir()}
    assert left <= set(texts) | {"original\n"} and target.read_text() in texts
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".tmp"]


def test_backup_survives_a_writer_renaming_over_the_output_mid_link(tmp_path, monkeypatch):
    """link(2) answers ENOENT when the file it looked up lost its last name to another writer's
    rename (Linux fs/namei.c vfs_link: `i_nlink == 0` gives -ENOENT), though the output is still
    there: the backup is taken of what is there now, never skipped (the race CI once hit in the
    test above)."""
    from crystalx_core import outputs

    target = tmp_path / "x_crystalx.res"
    target.write_text("first\n")
    real_link, raced = os.link, []

    def link_racing_a_rename(source, destination, **options):
        if not raced:  # another writer's output replaces `source` between lookup and link
            raced.append(True)
            (tmp_path / "other").write_text("second\n")
            os.replace(tmp_path / "other", source)
            raise FileNotFoundError(2, "No such file or directory")
        return real_link(source, destination, **options)

    monkeypatch.setattr(outputs.os, "link", link_racing_a_rename)
    assert outputs.write_outputs({target: "third\n"}) == [tmp_path / "x_crystalx.res.bak"]
    assert raced and (tmp_path / "x_crystalx.res.bak").read_text() == "second\n"
    assert target.read_text() == "third\n"


# --- limits with clear errors ---------------------------------------------------------------------

INS = (
    "TITL t\nCELL 0.71073 {cell}\nZERR 4 0 0 0 0 0 0\nLATT 1\nSFAC {sfac}\nUNIT {unit}\n"
    "{atoms}HKLF 4\nEND\n"
)


@pytest.mark.parametrize(
    "cell, sfac, unit, atoms, words",
    [
        (
            "10 10 10 90 90 90",
            "C Cf",
            "8 1",
            "C1 1 0.1 0.2 0.3 11 0.05\nCF1 2 0.4 0.4 0.4 11 0.05\n",
            "Cf",
        ),
        ("1e6 10 10 90 90 90", "C", "8", "C1 1 0.1 0.2 0.3 11 0.05\n", "cell"),
        ("10 10 10 90 179.99 90", "C", "8", "C1 1 0.1 0.2 0.3 11 0.05\n", "cell"),
        ("10 10 10 90 90 90", "C", "8", "C1 1 nan 0.2 0.3 11 0.05\n", "C1"),
        ("10 10 10 90 90 90", "C", "8", "C1 1 inf 0.2 0.3 11 0.05\n", "C1"),
        (
            "5 5 5 90 90 90",
            "C",
            "200",
            "".join(
                f"Q{k} 1 {k / 200:.4f} {k * 0.37 % 1:.4f} 0.3 11 0.05 1.0\n" for k in range(200)
            ),
            "per Å³",
        ),
    ],
)
def test_limits_are_clear_one_line_errors(tmp_path, capsys, cell, sfac, unit, atoms, words):
    source = tmp_path / "x.ins"
    source.write_text(INS.format(cell=cell, sfac=sfac, unit=unit, atoms=atoms))
    code = cli.main(["assign", str(source), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert (
        code in (1, 2)
        and len(err.splitlines()) == 1
        and words.lower() in err.lower()
        and "Traceback" not in err
    )


def test_a_structure_beyond_the_supported_size_is_refused(tmp_path, capsys):
    from crystalx_core.assign import MAX_SITES

    n = MAX_SITES + 1
    atoms = "".join(
        f"Q{k} 1 {k / n:.6f} {(k * 0.37) % 1:.6f} {(k * 0.61) % 1:.6f} 11 0.05 "
        f"{math.log(k + 2):.2f}\n"
        for k in range(1, n + 1)
    )
    source = tmp_path / "big.res"
    source.write_text(INS.format(cell="300 300 300 90 90 90", sfac="C", unit=str(n), atoms=atoms))
    code = cli.main(["assign", str(source), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and f"at most {MAX_SITES}" in err


def test_symm_cards_that_close_to_no_space_group_are_refused_quickly():
    """Contradictory SYMM cards made cctbx close a 1536-operator 'group' and every later step
    crawl (an atheris timeout); a space group has at most 192 operators."""
    symm = "".join(
        f"SYMM {op}\n"
        for op in ["0.5-X,-Y,0.5+Z", "Z,X,Y", "0.25+Y,0.25+X,0.25+Z", "0.75-Y,0.75+X,0.50-Z"]
    )
    text = INS.format(
        cell="25 25 25 90 90 90", sfac="C", unit="8", atoms="C1 1 0.1 0.2 0.3 11 0.05\n"
    )
    text = text.replace("LATT 1\n", "LATT -2\n" + symm)
    with pytest.raises(CrystalXError, match="at most 192"):
        parse_shelx(text, "x.ins").to_structure()


def test_a_cell_without_its_space_groups_metric_is_an_input_error():
    """cctbx asserts (AssertionError) on such cells; it reached users as an internal error."""
    from crystalx_core.crystallography.convert import to_xray_structure
    from crystalx_core.structure import Site, Structure

    structure = Structure(
        cell=(10, 11, 12, 90, 90, 90),
        symops=["x,y,z", "-y,x,z", "-x,-y,z", "y,-x,z"],
        sites=[Site("C1", "C", (0.1, 0.2, 0.3))],
        source="t.cif",
    )
    with pytest.raises(CrystalXError, match="metric symmetry of space group P 4"):
        to_xray_structure(structure)


@pytest.mark.parametrize(
    "line, words",
    [
        ("   1   0   0     nan    1.00\n", "NaN"),
        ("0 0 7 0.27 3 7777777777777777777777\n", "out of range"),
        ("99999999999 0 7 0.27 3\n", "out of range"),
    ],
)
def test_bad_reflections_are_refused(line, words):
    with pytest.raises(CrystalXError, match=words):
        reflections_from_text("   1   1   1  100.00    2.00\n" + line, "x.hkl")


def test_negative_sigma_is_left_out_and_said():
    """SHELXL's flag for 'leave this reflection out', not a reason to refuse the file."""
    reflections = reflections_from_text(
        "   1   1   1  100.00    2.00\n   1   0   0   10.00   -1.00\n", "x.hkl"
    )
    assert reflections.indices.tolist() == [[1, 1, 1]]
    assert reflections.notes == [
        "1 reflection(s) with a negative sigma left out, as SHELXL does (the first on line 2)"
    ]


@pytest.mark.parametrize(
    "first, named",
    [
        ("torch", "torch"),
        ("PySide6.QtWidgets", "PySide6"),
        ("shiboken6", "PySide6"),
        ("gemmi", "gemmi"),
    ],
)
def test_a_module_imported_first_that_crashes_cctbx_is_a_clear_error_not_a_segfault(first, named):
    """cctbx crashes the interpreter (SIGSEGV) when torch, PySide6 (its shiboken6) or gemmi was
    loaded before it (main: exit -11 for the last three, a script opening the panel's window
    before a job); the package refuses that order with an ImportError that says what to do."""
    import subprocess
    import sys

    pytest.importorskip(first)
    done = subprocess.run(
        [sys.executable, "-c", f"import {first}; import crystalx_core"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    assert f"import crystalx_core before {named}:" in done.stderr.strip().splitlines()[-1]


def test_gemmi_and_pyside6_after_any_cctbx_module_are_not_refused():
    """The crash is the first load of cctbx's boost_python_meta_ext: a script that imported a
    cctbx module (cctbx.sgtbx) before gemmi and PySide6 runs (measured: a solve), and was
    refused when the check asked for cctbx.xray alone."""
    import subprocess
    import sys

    pytest.importorskip("PySide6.QtWidgets")
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import cctbx.sgtbx, gemmi, PySide6.QtWidgets; import crystalx_core.pipeline",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-500:]
