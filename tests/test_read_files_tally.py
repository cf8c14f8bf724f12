"""scripts/read_files_tally.py, the count of how real files end in `crystalx assign` that the
reports on other labs' files quote: each ending must be named as what it is."""

import importlib.util
from pathlib import Path

import crystalx_core  # noqa: F401  (cctbx before gemmi)
import crystalx_core.pipeline

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "read_files_tally.py"
SPEC = importlib.util.spec_from_file_location("read_files_tally", SCRIPT)
tally = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(tally)

INS = (
    "TITL x\nCELL 0.71073 10 10 10 90 90 90\nZERR 1 0 0 0 0 0 0\nLATT 1\nSFAC C O\nUNIT 2 2\n"
    "C1 1 0.1 0.1 0.1 11 0.03\nO1 2 0.22 0.1 0.1 11 0.03\nHKLF 4\nEND\n"
)


def test_an_exception_the_cli_reports_in_one_line_is_an_internal_error(tmp_path, monkeypatch):
    """The CLI turns an exception no reader caught into one line and exit 70 ('crystalx:
    internal error: ...'); the tally filed that as a traceback, which it printed none of. It
    is now an 'internal error' (still a bug), apart from a refusal in one line and from a
    traceback the CLI let through."""
    (tmp_path / "x.ins").write_text(INS)
    out = tmp_path / "out"
    out.mkdir()
    kind, code, _, last = tally.run(str(tmp_path / "x.ins"), str(out))
    assert (kind, code) == ("read", 0)

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(crystalx_core.pipeline, "assign_job", broken)
    kind, code, _, last = tally.run(str(tmp_path / "x.ins"), str(out))
    assert (kind, code) == ("internal error", 70)
    assert last.startswith("crystalx: internal error: ZeroDivisionError: a bug")

    kind, code, _, last = tally.run(str(tmp_path / "missing.ins"), str(out))
    assert (kind, code) == ("one-line error", 2) and last.startswith("crystalx: error:")
    assert tally.classify(70, "Traceback (most recent call last):\n  ...\nKeyError: 'x'") == (
        "traceback"
    )
