"""Hostile requests through the real `crystalx serve --stdio` process (issue 24, points 1 and
4): every one answers a typed error naming the field, never `internal`, never a huge echo,
and the next ping is answered. All lines go through one process, each followed by a ping."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crystalx_core.service import MAX_MESSAGE, MAX_REQUEST_BYTES, PROTOCOL

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = {
    "cell": [10.0, 11.0, 12.0, 90.0, 95.0, 90.0],
    "symops": ["x,y,z", "-x,y+1/2,-z"],
    "sfac": ["C", "O"],
    "unit": [8, 2],
    "sites": [
        {"label": "C1", "element": "C", "frac": [0.1, 0.2, 0.3]},
        {"label": "O1", "element": "O", "frac": [0.2, 0.25, 0.3]},
    ],
}
PLAN = {"sites": [{"label": "C1", "element": "C", "h_count": 3}], "delete": ["O1"]}


def line(method: str, params: dict, id_=1) -> bytes:
    return json.dumps(
        {"protocol": PROTOCOL, "id": id_, "method": method, "params": params}
    ).encode()


def snapshot_with(**change) -> dict:
    return {**SNAPSHOT, **change}


def site_with(**change) -> dict:
    return snapshot_with(sites=[{**SNAPSHOT["sites"][0], **change}, SNAPSHOT["sites"][1]])


# name: (request line, error code, words the message must hold)
HOSTILE = {
    "options list": (
        line("assign", {"structure": SNAPSHOT, "options": [1]}),
        "bad-options",
        "params.options",
    ),
    "options text": (
        line("assign", {"structure": SNAPSHOT, "options": "fast"}),
        "bad-options",
        "params.options",
    ),
    "delete number": (
        line("apply-plan", {"structure": SNAPSHOT, "plan": {**PLAN, "delete": 5}}),
        "bad-plan",
        "params.plan.delete",
    ),
    "delete text": (
        line("apply-plan", {"structure": SNAPSHOT, "plan": {**PLAN, "delete": "O"}}),
        "bad-plan",
        "params.plan.delete: should be a list",
    ),
    "sfac text": (
        line("assign", {"structure": snapshot_with(sfac="CHNO")}),
        "bad-snapshot",
        "params.structure.sfac: should be a list",
    ),
    "400-digit cell edge": (
        line("assign", {"structure": snapshot_with(cell=[int("9" * 400), 11, 12, 90, 95, 90])}),
        "bad-snapshot",
        "params.structure.cell[0]: an integer of 400 digits",
    ),
    "part 1e30": (
        line("assign", {"structure": site_with(part=1e30)}),
        "bad-snapshot",
        "params.structure.sites[0].part (site 'C1'): should be a whole number",
    ),
    "h_count Infinity": (
        line(
            "apply-plan",
            {
                "structure": SNAPSHOT,
                "plan": {"sites": [{"label": "C1", "element": "C", "h_count": float("inf")}]},
            },
        ),
        "bad-plan",
        "params.plan.sites[0].h_count (site 'C1'): should be a whole number, not Infinity",
    ),
    "top_k text": (
        line("assign", {"structure": SNAPSHOT, "options": {"top_k": "x"}}),
        "bad-options",
        "params.options.top_k",
    ),
    "nested 1e5 deep": (
        b'{"protocol": 1, "id": 1, "method": "assign", "params": {"structure": '
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}}",
        "bad-json",
        "nested too deeply",
    ),
    "unknown field": (
        line("assign", {"structure": site_with(peak_hieght=3.0)}),
        "bad-snapshot",
        "params.structure.sites[0].peak_hieght (site 'C1'): is not a field",
    ),
    "1 MB title": (
        line("assign", {"structure": snapshot_with(title="x" * 1_000_000)}),
        "bad-snapshot",
        "(1000000 characters)",
    ),
    "1 MB element": (
        line("assign", {"structure": site_with(element="C" * 1_000_000)}),
        "bad-snapshot",
        "params.structure.sites[0].element",
    ),
    "invalid JSON": (b"{broken", "bad-json", "not JSON"),
    "binary": (b"\xff\xfe\x00garbage", "bad-json", "not JSON"),
    "non-object": (b"[1, 2, 3]", "bad-request", "should be an object"),
    "huge line": (b"{" + b" " * (MAX_REQUEST_BYTES + 10) + b"}", "too-large", "bytes"),
}
PING = json.dumps({"protocol": PROTOCOL, "id": "ping", "method": "ping"}).encode()


@pytest.fixture(scope="module")
def answers():
    """name → (the answer to the hostile line, the answer to the ping after it)."""
    lines = [raw for request, *_ in HOSTILE.values() for raw in (request, PING)]
    lines.append(line("apply-plan", {"structure": SNAPSHOT, "plan": PLAN}, id_="valid"))
    done = subprocess.run(
        [sys.executable, "-m", "crystalx_core.cli", "serve", "--stdio"],
        input=b"\n".join(lines) + b"\n",
        capture_output=True,
        timeout=180,
        env={**os.environ, "CRYSTALX_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    replies = done.stdout.splitlines()
    assert len(replies) == len(lines)  # one answer per line, the service never died on the way
    decoded = [json.loads(reply) for reply in replies]
    return {
        name: (decoded[2 * k], decoded[2 * k + 1], len(replies[2 * k]))
        for k, name in enumerate(HOSTILE)
    } | {"valid": (decoded[-1], None, len(replies[-1]))}


def check(answers, name):
    reply, ping, length = answers[name]
    _, code, words = HOSTILE[name]
    assert reply["error"]["code"] == code, reply
    assert words in reply["error"]["message"], reply
    assert length < MAX_MESSAGE + 400  # a huge value is never sent back whole
    assert ping["id"] == "ping" and ping["result"]["protocol"] == PROTOCOL


@pytest.mark.parametrize("name", ["options list", "options text"])
def test_options_of_the_wrong_type_are_refused_and_the_service_goes_on(answers, name):
    """Point 1: an AttributeError ended the service (exit 70) and the next ping went unanswered."""
    check(answers, name)


@pytest.mark.parametrize(
    "name",
    [
        "delete number",
        "delete text",
        "sfac text",
        "400-digit cell edge",
        "part 1e30",
        "h_count Infinity",
        "top_k text",
        "nested 1e5 deep",
        "unknown field",
    ],
)
def test_wrong_types_answer_a_typed_error_naming_the_field(answers, name):
    """Point 4: these answered `internal`, or (sfac "CHNO", delete "O") were read letter by
    letter."""
    check(answers, name)


@pytest.mark.parametrize("name", ["1 MB title", "1 MB element"])
def test_a_huge_value_is_not_echoed_back(answers, name):
    check(answers, name)
    assert answers[name][0]["id"] == 1


@pytest.mark.parametrize("name", ["invalid JSON", "binary", "non-object", "huge line"])
def test_the_service_survives_any_single_bad_line(answers, name):
    check(answers, name)
    assert answers[name][0]["id"] is None


def test_a_valid_request_is_still_answered_after_all_of_them(answers):
    reply = answers["valid"][0]
    assert reply["id"] == "valid"
    assert reply["result"]["spurious"] == ["O1"] and reply["result"]["commands"]
    assert [s["h_count"] for s in reply["result"]["sites"]] == [3]


def test_a_short_fuzz_run_finds_nothing(shared_data, tmp_path):
    """benchmarks/fuzz_service.py in small: a few hundred generated and mutated requests
    against one process, no crash, hang, internal error or malformed answer."""
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "fuzz_service.py"),
            str(shared_data / "benchmark"),
            "--requests",
            "200",
            "--timeout",
            "60",
            "--structures",
            "XH_urea",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "CRYSTALX_THREADS": "1", "CRYSTALX_FUZZ_LOG": str(tmp_path / "log")},
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "- 0 failures: 0 crashes, 0 hangs, 0 internal errors, 0 malformed answers" in run.stdout
    requests = int(run.stdout.split("--write`: ")[1].split(" requests")[0].replace(",", ""))
    assert requests >= 200
