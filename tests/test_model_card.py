"""The card carries the real-structure table that benchmarks/model_benchmark.py writes."""

from pathlib import Path

from tests.conftest import benchmark_script

REPO = Path(__file__).resolve().parents[1]


def _model_card():
    return benchmark_script("model_card")


def test_the_real_benchmark_table_is_carried_over_as_the_benchmark_wrote_it():
    card = _model_card()
    text = (
        "intro\n<!-- model_benchmark start -->\n### title\n\nprose | not a row\n\n"
        "| entry | non-H |\n|---|---|\n| X | 3 |\n| **all** | 3 |\n<!-- model_benchmark end -->\n"
        "| a row of another section |\n"
    )
    lines = card.real_benchmark_lines(text)
    assert lines[1].startswith("## Real structures")
    assert lines[-4:] == ["| entry | non-H |", "|---|---|", "| X | 3 |", "| **all** | 3 |"]
    assert card.real_benchmark_lines("no section here") == []
    assert card.real_benchmark_lines(None) == []


def test_the_committed_card_holds_the_committed_real_benchmark_table():
    card = _model_card()
    lines = card.real_benchmark_lines((REPO / "docs/benchmarks.md").read_text())
    committed = (REPO / "onnx_models/MODEL_CARD.md").read_text()
    assert lines and "\n".join(lines) in committed
