"""The JSON-lines service the Olex2 plugin talks to: answers, commands, and bad requests."""

import io
import json
import math
import subprocess
import sys
from contextlib import suppress

import pytest

from crystalx_core.assignment import Assignment, SiteAssignment
from crystalx_core.elements import is_hydrogen
from crystalx_core.errors import RequestError
from crystalx_core.io.cif import read_cif
from crystalx_core.io.shelx_read import read_shelx
from crystalx_core.olex2 import olex2_commands
from crystalx_core.riding import input_groups
from crystalx_core.service import (
    MAX_REQUEST_BYTES,
    MAX_SITES,
    PROTOCOL,
    reply_to,
    serve,
    structure_from_snapshot,
)
from crystalx_core.geometry import site_multiplicities
from crystalx_core.structure import Site, Structure

from .conftest import BENCHMARK, fill


def snapshot_of(structure, peaks: bool) -> dict:
    """What the plugin sends: non-H sites, as unassigned peaks (heights from scattering power
    as a solver's would roughly be) or as the atoms they are, with Olex2's occupancy (times
    the site-symmetry factor, as SHELX's sof)."""
    sites = []
    heavy = structure.with_sites([s for s in structure.sites if not is_hydrogen(s.element)])
    factor = [m / len(heavy.symops) for m in site_multiplicities(heavy)]
    for k, site in enumerate(heavy.sites):
        sites.append(
            {
                "label": f"Q{k + 1}" if peaks else site.label,
                "element": None if peaks else site.element,
                "frac": list(site.frac),
                "occupancy": site.occupancy * factor[k],
                "u_iso": site.u_iso,
                "part": site.part,
                "peak_height": float({"C": 6, "N": 7, "O": 8}.get(site.element, 10))
                if peaks
                else None,
            }
        )
    return {
        "cell": list(structure.cell),
        "symops": structure.symops,
        "sfac": structure.sfac,
        "unit": structure.unit,
        "sites": sites,
    }


@pytest.fixture(scope="module")
def sucrose(shared_data):
    return read_shelx(BENCHMARK / "FC_sucrose" / "published.res").to_structure()


def request(method, params=None, id_=1):
    return json.dumps(
        {"protocol": PROTOCOL, "id": id_, "method": method, "params": params or {}}
    ).encode()


def answer(line: bytes) -> dict:
    reply, _ = reply_to(line)
    assert reply["protocol"] == PROTOCOL
    return reply


def apply(commands: list[str], labels: dict[str, str]) -> dict[str, str]:
    """Play name/kill commands on label → element, as Olex2 would, refusing a taken label."""
    labels = dict(labels)
    for command in commands:
        verb, *args = command.split()
        if verb == "kill":
            assert args, "kill without labels deletes Olex2's selection"
            for label in args:
                del labels[label]
        elif verb == "name":
            old, new = args
            assert new.upper() not in {k.upper() for k in labels if k != old}, (
                f"{command}: {new} is taken"
            )
            labels.pop(old)
            labels[new] = "".join(c for c in new if c.isalpha())[:2]
    return labels


def test_assign_answers_every_peak_with_probabilities_and_commands(sucrose):
    reply = answer(
        request("assign", {"structure": snapshot_of(sucrose, peaks=True), "options": {"top_k": 3}})
    )
    result = reply["result"]
    assert reply["id"] == 1
    answered = {s["label"] for s in result["sites"]} | set(result["spurious"])
    assert answered == {f"Q{k + 1}" for k in range(23)}
    for site in result["sites"]:
        assert site["element"] in ("C", "O")
        assert 1 <= len(site["probabilities"]) <= 3
        assert math.isclose(sum(p for _, p in site["probabilities"]), 1.0, abs_tol=0.02)
        assert sum(site["h_probabilities"].values()) == pytest.approx(1.0, abs=0.01)
    assert not any(c.startswith("kill") for c in result["commands"])  # spurious peaks stay Q-peaks
    final = apply(result["commands"], {f"Q{k + 1}": None for k in range(23)})
    assert set(final) == {s["new_label"] for s in result["sites"]} | set(result["spurious"])
    hadd = [c for c in result["commands"] if c.startswith("hadd")]
    assert sorted(c.split()[1] for c in hadd) == sorted(str(code) for code, _ in result["hfix"])


def test_reassigning_a_refined_model_keeps_its_elements(sucrose):
    result = answer(request("assign", {"structure": snapshot_of(sucrose, peaks=False)}))["result"]
    published = {s.label: s.element for s in sucrose.sites}
    assert all(published[s["label"]] == s["element"] for s in result["sites"])
    codes = {s["new_label"]: s["hfix"] for s in result["sites"]}
    renamed = {s["label"]: s["new_label"] for s in result["sites"]}
    assert codes[renamed["C6"]] == 23 and codes[renamed["C1"]] == 13 and codes[renamed["O4"]] == 147


def test_atoms_that_already_carry_hydrogens_keep_them(sucrose):
    snapshot = snapshot_of(sucrose, peaks=False)
    h = next(s for s in sucrose.sites if s.label.upper() == "H6A")  # one of C6's H
    snapshot["sites"].append({"label": "H6A", "element": "H", "frac": list(h.frac)})
    result = answer(request("assign", {"structure": snapshot}))["result"]
    c6 = next(s for s in result["sites"] if s["label"] == "C6")
    assert "already carries H" in c6["note"]
    # it holds one of the two H its CH2 needs: the note says so, the H stay the user's
    assert c6["h_count"] == 2 and c6["note"].endswith("holds 1 H where the job expects 2")
    assert all(c6["new_label"] not in labels for _, labels in result["hfix"])
    assert any(
        c.startswith("hadd 23") for c in result["commands"]
    )  # the other CH2 still get theirs


def test_apply_plan_follows_the_users_edits(sucrose):
    snapshot = snapshot_of(sucrose, peaks=False)
    plan = {
        "sites": [
            {
                "label": s["label"],
                "element": "N" if s["label"] == "O4" else s["element"],
                "new_label": "N1" if s["label"] == "O4" else s["label"],
                "h_count": 2 if s["label"] == "O4" else 0,
            }
            for s in snapshot["sites"]
            if s["label"] != "O11"
        ],
        "delete": ["O11"],
    }
    result = answer(request("apply-plan", {"structure": snapshot, "plan": plan}))["result"]
    assert result["commands"][0] == "kill O11"
    assert "name O4 N1" in result["commands"]
    # a C–N of 1.42 Å (the old C–O) reads as conjugated: planar NH2
    assert [code for code, labels in result["hfix"] if "N1" in labels] == [93]
    final = apply(result["commands"], {s["label"]: s["element"] for s in snapshot["sites"]})
    assert "O11" not in final and "N1" in final


def test_an_atom_typed_against_its_label_is_retyped_when_it_keeps_the_label():
    """N1 typed C in Olex2 (a .ins whose SFAC order gives it C): the answer N keeps the label,
    and `name N1 N1` sets the type from it (gxapp.cpp TGXApp::Name(TXAtom&, ...) types the atom
    from the label it is given, also an unchanged one); O1, right already, gets no command."""
    given = {"N1": "C", "O1": "O", "N2_3": "C"}  # label → element in Olex2
    structure = Structure(
        (10, 10, 10, 90, 90, 90),
        ["x,y,z"],
        [Site(label, el, (0.1 + 0.2 * k, 0.1, 0.1)) for k, (label, el) in enumerate(given.items())],
    )
    answer = [SiteAssignment(k, label, label[0], label) for k, label in enumerate(given)]
    commands = olex2_commands(structure, Assignment("plan", answer), [])
    assert commands == ["name N1 N1", "name N2_3 N2"]
    assert apply(commands, given) == {"N1": "N", "O1": "O", "N2": "N"}


def test_a_kept_label_that_olex2_would_read_as_another_element_is_refused():
    """`name O1 O1` would leave the atom O (Olex2 types it from the label), while the answer
    says C: the kept label gets the same check as a new one."""
    structure = Structure((10, 10, 10, 90, 90, 90), ["x,y,z"], [Site("O1", "O", (0.1, 0.1, 0.1))])
    with pytest.raises(RequestError) as caught:
        olex2_commands(structure, Assignment("plan", [SiteAssignment(0, "O1", "C", "O1")]), [])
    assert caught.value.code == "bad-label"
    assert str(caught.value) == "kept label O1 of a C: Olex2 would read it as O, not C"


def test_renames_that_form_a_cycle_go_through_a_spare_label():
    structure = Structure(
        cell=(10, 10, 10, 90, 90, 90),
        symops=["x,y,z"],
        sfac=["C", "N"],
        unit=[2, 1],
        sites=[
            Site("C1", "C", (0.1, 0.1, 0.1)),
            Site("C2", "C", (0.3, 0.1, 0.1)),
            Site("N1", "N", (0.5, 0.1, 0.1)),
            Site("H1", "H", (0.1, 0.2, 0.1)),
        ],
    )
    assignment = Assignment(
        "plan",
        [
            SiteAssignment(0, "C1", "C", "C2"),
            SiteAssignment(1, "C2", "C", "C1"),
            SiteAssignment(2, "N1", "C", "C3"),
        ],
    )
    commands = olex2_commands(structure, assignment, [(23, ["C3"])])
    assert commands[-1] == "hadd 23 C3" and not any(c.startswith("kill") for c in commands)
    final = apply(commands, {s.label: s.element for s in structure.sites})
    assert sorted(final) == ["C1", "C2", "C3", "H1"]
    assert any(c.startswith("name C") and c.split()[2].startswith("C9") for c in commands)


@pytest.mark.parametrize("longest, spare", [(3, "C99"), (4, "C999"), (8, "C9999999")])
def test_a_cycle_parks_on_a_spare_label_of_olex2s_max_label_length(longest, spare):
    """The spare label of a rename cycle fits the user's Olex2 max_label_length (the
    structure's max_label, which the service takes from the request): main parked on C999,
    which Olex2 at 3 trims to C99 (xlib/xapp.cpp TXApp::GetMaxLabelLength), whatever held
    C99; at 8 its list of every label would have held ten million."""
    structure = Structure(
        cell=(10, 10, 10, 90, 90, 90),
        symops=["x,y,z"],
        sfac=["C"],
        unit=[2],
        sites=[Site("C1", "C", (0.1, 0.1, 0.1)), Site("C2", "C", (0.3, 0.1, 0.1))],
        max_label=longest,
    )
    swap = [SiteAssignment(0, "C1", "C", "C2"), SiteAssignment(1, "C2", "C", "C1")]
    commands = olex2_commands(structure, Assignment("plan", swap), [])
    assert commands == [f"name C1 {spare}", "name C2 C1", f"name {spare} C2"]


@pytest.mark.parametrize(
    "line, code",
    [
        (b"{not json", "bad-json"),
        (b"[1, 2]", "bad-request"),
        (json.dumps({"protocol": 99, "id": 1, "method": "ping"}).encode(), "bad-protocol"),
        (request("frobnicate"), "unknown-method"),
        (request("assign", {"structure": None}), "bad-snapshot"),
        (
            request("assign", {"structure": {"cell": [10, 10, 10, 90, 90, 90], "sites": []}}),
            "bad-snapshot",
        ),
        (b"\xff\xfe", "bad-json"),
    ],
)
def test_bad_requests_get_error_replies(line, code):
    reply, keep_running = reply_to(line)
    assert keep_running
    assert reply["error"]["code"] == code and reply["error"]["message"]


CELL = [10.0, 11.0, 12.0, 90.0, 95.0, 90.0]


@pytest.mark.parametrize(
    "change, words",
    [
        ({"cell": [10, 11, 0, 90, 95, 90]}, "cell edges"),
        ({"cell": [10, 11, float("nan"), 90, 95, 90]}, "NaN"),
        ({"symops": ["x,y,z", "q,r,s"]}, "symops"),
        ({"sites": [{"label": "Q1", "frac": [0.1, float("inf"), 0.2]}]}, "NaN or infinity"),
        ({"sites": [{"label": "Q1", "frac": [0.1, 0.2]}]}, "frac"),
        ({"sites": [{"label": "X1", "element": "Xx", "frac": [0.1, 0.2, 0.3]}]}, "unknown element"),
        (
            {
                "sites": [
                    {"label": "Q1", "frac": [0.1, 0.2, 0.3]},
                    {"label": "q1", "frac": [0.4, 0.2, 0.3]},
                ]
            },
            "more than once",
        ),
        (
            {"sites": [{"label": "Q1", "frac": [0.1, 0.2, 0.3], "peak_height": "tall"}]},
            "peak_height",
        ),
        ({"sfac": ["C", "O"], "unit": [4]}, "UNIT"),
        (
            {"sites": [{"label": f"Q{k}", "frac": [0.1, 0.2, 0.3]} for k in range(MAX_SITES + 1)]},
            "at most",
        ),
    ],
)
def test_snapshot_problems_name_the_field(change, words):
    snapshot = {
        "cell": CELL,
        "symops": ["x,y,z", "-x,y+1/2,-z"],
        "sfac": ["C"],
        "unit": [8],
        "sites": [{"label": "Q1", "frac": [0.1, 0.2, 0.3]}],
        **change,
    }
    reply = answer(
        json.dumps(
            {"protocol": PROTOCOL, "id": 7, "method": "assign", "params": {"structure": snapshot}},
            allow_nan=True,
        ).encode()
    )
    assert reply["id"] == 7
    assert words in reply["error"]["message"]


def test_a_good_snapshot_builds_the_full_space_group():
    structure = structure_from_snapshot(
        {
            "cell": CELL,
            "symops": ["x,y,z", "-x,y+1/2,-z"],
            "sfac": ["C"],
            "unit": [8],
            "sites": [{"label": "Q1", "frac": [0.1, 0.2, 0.3], "peak_height": 5}],
        }
    )
    assert len(structure.symops) == 2 and structure.sites[0].peak_height == 5.0


def test_serve_survives_bad_lines_skips_blank_ones_and_stops_on_shutdown():
    oversized = b"{" + b" " * (MAX_REQUEST_BYTES + 10) + b"}\n"
    stdin = io.BytesIO(
        b"\n".join([request("ping", id_=1), b"", b"nonsense", request("ping", id_=2)])
        + b"\n"
        + oversized
        + request("shutdown", id_=3)
        + b"\n"
        + request("ping", id_=4)
        + b"\n"
    )
    stdout = io.BytesIO()
    assert serve(stdin, stdout) == 0
    replies = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert [r.get("id") for r in replies] == [1, None, 2, None, 3]  # nothing after shutdown
    assert replies[1]["error"]["code"] == "bad-json" and replies[3]["error"]["code"] == "too-large"


def test_serve_ends_quietly_when_the_client_goes_away():
    class Gone(io.BytesIO):
        def write(self, data):
            raise BrokenPipeError

    assert serve(io.BytesIO(request("ping") + b"\n"), Gone()) == 0
    assert serve(io.BytesIO(b""), io.BytesIO()) == 0


def test_the_command_runs_as_a_process(sucrose):
    lines = [
        request("ping", id_="a"),
        request("assign", {"structure": snapshot_of(sucrose, peaks=True)}, id_="b"),
        b"{broken",
        request("shutdown", id_="c"),
    ]
    done = subprocess.run(
        [sys.executable, "-m", "crystalx_core.cli", "serve", "--stdio"],
        input=b"\n".join(lines) + b"\n",
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    replies = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["id"] for r in replies] == ["a", "b", None, "c"]
    assert replies[1]["result"]["commands"] and "error" in replies[2]


def test_olex2_occupancies_carry_the_site_symmetry_and_parts_are_kept(shared_data):
    """XH HMaMg: Mg on an inversion centre comes from Olex2 at occupancy 0.5 and is a whole
    Mg to the core. FC p21c's PART 1/2 CF3 orientations keep every element."""
    hmamg = read_shelx(BENCHMARK / "XH_HMaMg" / "published.res").to_structure()
    snapshot = snapshot_of(hmamg, peaks=False)
    assert next(
        s["occupancy"] for s in snapshot["sites"] if s["label"].upper() == "MG1"
    ) == pytest.approx(0.5)
    structure = structure_from_snapshot(snapshot)
    assert all(site.occupancy == pytest.approx(1.0) for site in structure.sites)
    for name in ("XH_HMaMg", "FC_p21c"):  # the CIF: the .res repeats labels across residues
        published = read_cif(BENCHMARK / name / "model.cif").structure
        result = answer(request("assign", {"structure": snapshot_of(published, peaks=False)}))[
            "result"
        ]
        heavy = [s for s in published.sites if not is_hydrogen(s.element)]
        assert [s["element"] for s in result["sites"]] == [s.element for s in heavy], name


def test_atoms_in_residues_are_addressed_and_renamed_within_their_residue(shared_data):
    """FC_p21c's .res repeats O1, C1..C4 and F1..F9 in four RESI residues, as Olex2 sends them:
    bare labels with their residue numbers. One residue-2 O1, typed N (as N1), is put back
    as O within residue 2 (`name N1_2 O1`); every other atom keeps its label."""
    structure = read_shelx(BENCHMARK / "FC_p21c" / "published.res").to_structure()
    snapshot = snapshot_of(structure, peaks=False)
    for site in snapshot["sites"]:
        label, _, residue = site["label"].partition("_")
        site["label"], site["residue"] = label, int(residue or 0)
        if (label, site["residue"]) == ("O1", 2):
            site["label"], site["element"] = "N1", "N"
    assert len({s["label"] for s in snapshot["sites"]}) < len(
        snapshot["sites"]
    )  # labels repeat across residues
    result = answer(request("assign", {"structure": snapshot}))["result"]
    assert [c for c in result["commands"] if c.startswith("name")] == ["name N1_2 O1"]
    assert {s["label"] for s in result["sites"]} >= {"O1", "O1_1", "O1_3", "O1_4", "C2_4", "N1_2"}
    assert all(s["label"] == s["new_label"] for s in result["sites"] if s["label"] != "N1_2")


def test_a_renamed_residue_atom_parks_within_its_residue():
    """A cycle inside residue 3 (C1_3 ↔ C2_3) parks on a spare label of residue 3."""
    structure = Structure(
        cell=(10, 10, 10, 90, 90, 90),
        symops=["x,y,z"],
        sfac=["C"],
        unit=[2],
        sites=[Site("C1_3", "C", (0.1, 0.1, 0.1)), Site("C2_3", "C", (0.3, 0.1, 0.1))],
    )
    assignment = Assignment(
        "plan", [SiteAssignment(0, "C1_3", "C", "C2_3"), SiteAssignment(1, "C2_3", "C", "C1_3")]
    )
    commands = olex2_commands(structure, assignment, [])
    assert commands == ["name C1_3 C999", "name C2_3 C1", "name C999_3 C2"]


@pytest.mark.parametrize("residue", [-1, 1.5, "2", True])
def test_a_bad_residue_number_names_the_site(residue):
    snapshot = {
        "cell": [10, 10, 10, 90, 90, 90],
        "sfac": ["C"],
        "unit": [1],
        "sites": [{"label": "C1", "element": "C", "frac": [0, 0, 0], "residue": residue}],
    }
    reply = answer(request("assign", {"structure": snapshot}))
    assert reply["error"]["code"] == "bad-snapshot" and "C1" in reply["error"]["message"]


def test_a_bug_answers_internal_and_the_service_goes_on(monkeypatch, capsys):
    """Defence in depth behind the schema: any exception in a handler is an `internal` reply
    (its traceback in the log), never the end of the process."""

    def broken(*_):
        raise AttributeError("'list' object has no attribute 'get'")

    monkeypatch.setattr("crystalx_core.service.assign_result", broken)
    snapshot = {"cell": CELL, "sites": [{"label": "C1", "element": "C", "frac": [0.1, 0.2, 0.3]}]}
    stdout = io.BytesIO()
    assert (
        serve(
            io.BytesIO(
                request("assign", {"structure": snapshot}, id_=1)
                + b"\n"
                + request("ping", id_=2)
                + b"\n"
            ),
            stdout,
        )
        == 0
    )
    replies = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert replies[0]["error"] == {
        "code": "internal",
        "message": "AttributeError: 'list' object has no attribute 'get'",
    }
    assert replies[1]["id"] == 2 and "result" in replies[1]
    assert "Traceback" in capsys.readouterr().err


def test_a_full_disk_under_the_log_does_not_end_the_service(monkeypatch, small_disk):
    """The plugin sends the core's stderr to a log file; on a full disk (a real 1 MB tmpfs,
    filled) the traceback of an `internal` reply cannot be written, and the service still
    answers that request and the next one."""

    def broken(*_):
        raise AttributeError("'list' object has no attribute 'get'")

    monkeypatch.setattr("crystalx_core.service.assign_result", broken)
    fill(small_disk, leave=0)
    log = open(small_disk / "crystalx_core.log", "w", buffering=1)
    monkeypatch.setattr(sys, "stderr", log)
    snapshot = {"cell": CELL, "sites": [{"label": "C1", "element": "C", "frac": [0, 0, 0]}]}
    stdout = io.BytesIO()
    lines = request("assign", {"structure": snapshot}, id_=1) + b"\n" + request("ping", id_=2)
    assert serve(io.BytesIO(lines + b"\n"), stdout) == 0
    monkeypatch.undo()
    with suppress(OSError):  # what the log still holds cannot be written either
        log.close()
    replies = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert replies[0]["error"]["code"] == "internal" and "result" in replies[1]


def with_olex2s_hydrogens(structure, snapshot, afix=True):
    """`snapshot` with `structure`'s H as the plugin sends them (olex_model.read_model): label,
    element, position, PART and, from protocol 2, the AFIX Olex2 gives an H, its riding group's
    code (olx.xf.au.GetAtomAfix: pcxod/olex2 xlib/asymmunit.cpp LibGetAtomAfix returns
    xlib/catom.cpp TCAtom::GetAfix, the ParentAfixGroup's code), as the .res gave it; the
    occupancy Olex2 holds (au.GetAtomOccu, with the site-symmetry factor, as snapshot_of)."""
    factor = [m / len(structure.symops) for m in site_multiplicities(structure)]
    snapshot["sites"] += [
        {
            "label": h.label,
            "element": "H",
            "frac": list(h.frac),
            "occupancy": h.occupancy * factor[k],
            "part": h.part,
            **({"afix": h.afix} if afix else {}),
        }
        for k, h in enumerate(structure.sites)
        if is_hydrogen(h.element)
    ]
    return snapshot


def file_pivots(structure):
    """Pivot label → the AFIX of the H the file lists after it: in a SHELX file an AFIX mn
    group's H follow their pivot (SHELXL manual, AFIX), so the truth here is read from the
    file's order, not from any bond search."""
    codes, pivot = {}, None
    for site in structure.sites:
        if not is_hydrogen(site.element):
            pivot = site.label
        elif site.afix:
            codes.setdefault(pivot, set()).add(site.afix)
    return codes


def test_the_plugin_never_rewrites_a_riding_group_the_user_made(shared_data):
    """The plugin sends every live atom, its H too (olex_model.read_model) with their AFIX; a
    pivot that carries H gets no HFIX and no `hadd` (Olex2's HADD/HFIX take the code as given:
    one would replace the user's group). So SXF_I43d's AFIX 33 methyl on C41 stays Olex2's
    33, not the job's 137, on `assign` and on `apply-plan` alike, and the answer shows that 33
    as kept; the 137 this file expects for FC_sucrose's O4 is for a snapshot without H, where
    no user's code exists."""
    published = read_shelx(BENCHMARK / "SXF_I43d" / "published.res").to_structure()
    snapshot = with_olex2s_hydrogens(published, snapshot_of(published, peaks=False))
    assigned = answer(request("assign", {"structure": snapshot}))["result"]
    plan = {
        "sites": [
            {k: s[k] for k in ("label", "element", "new_label", "h_count")}
            for s in assigned["sites"]
        ]
    }
    applied = answer(request("apply-plan", {"structure": snapshot, "plan": plan}))["result"]
    for result in (assigned, applied):
        c41 = next(s for s in result["sites"] if s["label"] == "C41")
        assert c41["h_count"] == 3 and "already carries H (AFIX 33)" in c41["note"]
        assert "expects" not in c41["note"]  # it holds the three the job expects
        assert (c41["hfix"], c41["h_kept"]) == (33, True)
        assert all(c41["new_label"] not in labels for _, labels in result["hfix"])
        hadd = [c for c in result["commands"] if c.startswith("hadd")]
        assert hadd == [] and result["hfix"] == []  # every pivot of the file carries its H


@pytest.mark.parametrize(
    "name", ["SXF_I43d", "FC_sucrose", "FC_1979688", "FC_SH2185", "FC_p31c", "XH_HMaMg"]
)
def test_an_atom_that_keeps_its_hydrogens_shows_the_code_they_ride_under(shared_data, name):
    """Every pivot of the published model shows the AFIX its H ride under in Olex2 (the
    session 17 answer showed the job's: 137 for SXF_I43d's AFIX 33 methyl C41, 147 for
    FC_sucrose's AFIX 148 OH); an H of a neighbour or of another PART within reach is not
    its (C40's nitrile C holds none). Also on models the change was not written against:
    FC_1979688 (disorder in negative PARTs), FC_SH2185 (H refined freely, code 0, beside
    riding H in PART 2), FC_p31c (methyls on threefold axes) and XH_HMaMg (a metal complex's
    free H). Without the AFIX (an older client) the code is unknown and none is shown, never
    the job's."""
    published = read_shelx(BENCHMARK / name / "published.res").to_structure()
    truth = file_pivots(published)
    for afix in (True, False):
        snapshot = with_olex2s_hydrogens(published, snapshot_of(published, peaks=False), afix)
        result = answer(request("assign", {"structure": snapshot}))["result"]
        shown = {s["label"]: s["hfix"] for s in result["sites"] if s.get("h_kept")}
        assert set(truth) <= set(shown)
        if afix:
            assert {label: {shown[label]} for label in truth} == truth
            assert not any(shown[label] for label in set(shown) - set(truth))
        else:
            assert not any(shown.values())


def test_a_protocol_1_client_cannot_send_an_afix(sucrose):
    snapshot = with_olex2s_hydrogens(sucrose, snapshot_of(sucrose, peaks=False))
    line = json.dumps(
        {"protocol": 1, "id": 3, "method": "assign", "params": {"structure": snapshot}}
    ).encode()
    reply, _ = reply_to(line)
    assert reply["error"]["code"] == "bad-request"
    assert reply["error"]["message"].endswith(".afix: needs protocol 2, not 1")


def holders_in_file_order(structure) -> dict[str, int]:
    """Non-H label → the H the file lists right after it: SHELXL rides an AFIX group's H on the
    atom before them (SHELXL manual, AFIX), and SXF_I43d and XH_HMaMg list their freely refined
    H (XH_HMaMg's O1-H1 and water H) after their atom too, so for those files this is the
    author's own answer to "which atom holds this H", found by no bond search."""
    holders, pivot = {}, None
    for site in structure.sites:
        if not is_hydrogen(site.element):
            pivot = site.label
        else:
            holders[pivot] = holders.get(pivot, 0) + 1
    return holders


@pytest.mark.parametrize("name, bystander", [("SXF_I43d", "C40"), ("XH_HMaMg", "O2")])
def test_only_the_atom_an_h_rides_on_carries_it(shared_data, name, bystander):
    """The atoms that "already carry H" (no hadd, a note) are those holding an H in the
    published model, each H on one atom by SHELX's PART rules (geometry.bonded_h_contacts),
    not every atom with an H within reach: SXF_I43d's nitrile C40 (PART -3) lies 0.70-1.24 Å
    from H of the toluene's PART -1 and -2, and XH_HMaMg's O2 1.24 Å from the H1 of its
    O1-H1...O2 bond; both hold none, and the session 17 answer marked them carriers (an atom
    of theirs that needed H would never have got its hadd)."""
    published = read_shelx(BENCHMARK / name / "published.res").to_structure()
    snapshot = with_olex2s_hydrogens(published, snapshot_of(published, peaks=False))
    result = answer(request("assign", {"structure": snapshot}))["result"]
    kept = {s["label"] for s in result["sites"] if s.get("h_kept")}
    assert kept == set(holders_in_file_order(published))
    site = next(s for s in result["sites"] if s["label"] == bystander)
    assert (site["h_count"], site.get("note", "")) == (0, "") and bystander not in kept


@pytest.mark.parametrize(
    "name, part", [("FC_SH2185", 1), ("FC_SH2185", 2), ("SXF_I43d", -1), ("SXF_I43d", -2)]
)
def test_a_part_without_its_hydrogens_gets_them_beside_a_part_that_has_them(
    shared_data, name, part
):
    """A disordered model whose user has placed the H of one alternative only (or deleted one
    PART's H to redo them): the bare PART's atoms lie within reach of the other PART's H
    (FC_SH2185's two phenyl orientations, 0.97-1.28 Å; SXF_I43d's toluene in PART -1/-2 beside
    the acetonitrile in PART -3, 0.24-1.27 Å) but SHELX never bonds across PARTs, so they carry
    none: each gets the published H count and AFIX by `hadd` (the session 17 answer left them
    "already carrying H", with no H at all), while the other PART keeps its own, none twice."""
    published = read_shelx(BENCHMARK / name / "published.res").to_structure()
    truth = file_pivots(published)
    counts = holders_in_file_order(
        published.with_sites([s for s in published.sites if s.afix or not is_hydrogen(s.element)])
    )  # the riding H alone: FC_SH2185 lists its free H last, after no atom of theirs
    bare = published.with_sites(
        [s for s in published.sites if not (is_hydrogen(s.element) and s.part == part)]
    )
    snapshot = with_olex2s_hydrogens(bare, snapshot_of(published, peaks=False))
    result = answer(request("assign", {"structure": snapshot}))["result"]
    sites = {s["label"]: s for s in result["sites"]}
    placed = {label: code for code, labels in result["hfix"] for label in labels}
    part_of = {s.label: s.part for s in published.sites}
    stripped = {label for label in truth if part_of[label] == part}
    assert stripped and not {label for label in stripped if sites[label].get("h_kept")}
    assert {label: {placed[sites[label]["new_label"]]} for label in stripped} == {
        label: truth[label] for label in stripped
    }
    assert all(sites[label]["h_count"] == counts[label] for label in stripped)
    kept = {label for label, s in sites.items() if s.get("h_kept")}
    assert set(truth) - stripped <= kept and not kept & stripped
    assert not {sites[label]["new_label"] for label in kept} & set(placed)


@pytest.mark.parametrize(
    "name", ["FC_1979688", "FC_SH2185", "FC_p31c", "SXF_I43d", "XH_CpNa", "XH_HMaMg"]
)
def test_the_service_and_the_job_agree_on_which_atoms_hold_the_users_hydrogens(shared_data, name):
    """One definition of "holds the user's H": the atoms the plugin's answer leaves with their
    H are those whose H the job (and the audit) take as the input's group to ride as the user
    did (riding.input_groups, riding.keep_input_codes), on models with disorder in negative
    PARTs (FC_1979688, SXF_I43d), two phenyl orientations (FC_SH2185), methyls on threefold
    axes (FC_p31c), a Cp ring beside Na (XH_CpNa) and a short O-H...O bond (XH_HMaMg)."""
    published = read_shelx(BENCHMARK / name / "published.res").to_structure()
    snapshot = with_olex2s_hydrogens(published, snapshot_of(published, peaks=False))
    result = answer(request("assign", {"structure": snapshot}))["result"]
    model = published.with_sites([s for s in published.sites if not is_hydrogen(s.element)])
    job = {model.sites[i].label for i in input_groups(model, published)}
    assert {s["label"] for s in result["sites"] if s.get("h_kept")} == job


def test_q_peaks_at_one_point_are_one_atom_with_a_note(sucrose):
    """Q1 written four times within 0.07 Å (peak lists merged by hand): main answered four O on
    top of each other, 14 O for UNIT's 11, with no note. A peak on a higher peak (or an atom)
    is that density again: left out, named in a note; the highest is the atom."""
    snapshot = snapshot_of(sucrose, peaks=True)
    first = snapshot["sites"][0]
    copies = [
        {
            **first,
            "label": f"Q{24 + k}",
            "frac": [first["frac"][0] + 0.003 * (k + 1)] + first["frac"][1:],
            "peak_height": first["peak_height"] - 0.1 * (k + 1),
        }
        for k in range(3)
    ]
    snapshot["sites"][1:1] = copies
    result = answer(request("assign", {"structure": snapshot}))["result"]
    answered = {s["label"] for s in result["sites"]} | set(result["spurious"])
    assert answered == {f"Q{k + 1}" for k in range(23)}
    assert any("Q24 on Q1, Q25 on Q1, Q26 on Q1" in note for note in result["job_notes"]), result[
        "job_notes"
    ]
    # and deleted in Olex2 by the answer itself (main: no command, three Q left on the O)
    assert result["commands"][0] == "kill Q24 Q25 Q26"


def test_a_key_given_twice_is_refused_not_read_as_its_last_value(sucrose):
    """JSON allows a key twice; json.loads kept the last, so '"method": "shutdown", "method":
    "ping"' was answered as a ping and a site's second "label" named it in the commands."""
    reply = answer(b'{"protocol": 2, "id": 1, "method": "shutdown", "method": "ping"}')
    assert reply["error"] == {
        "code": "bad-json",
        "message": "key 'method' given twice in one object",
    }
    line = request("assign", {"structure": snapshot_of(sucrose, peaks=True)})
    line = line.replace(b'"label": "Q1"', b'"label": "Q1", "label": "Q99"', 1)
    assert answer(line)["error"]["message"] == "key 'label' given twice in one object"


@pytest.mark.parametrize("label", ["Q 1", "Q1\tC", "Q\u00a01", "Q1\nkill"])
def test_a_label_no_olex2_command_can_name_is_refused_naming_the_site(sucrose, label):
    """A label with a blank or control character inside became 'name Q 1 C1', a command that
    names another atom or none; one word (Unicode, '$', '=' included) is taken as Olex2 gives it."""
    snapshot = snapshot_of(sucrose, peaks=True)
    snapshot["sites"][2]["label"] = label
    error = answer(request("assign", {"structure": snapshot}))["error"]
    assert error["code"] == "bad-snapshot"
    assert error["message"].startswith(
        "params.structure.sites[2].label: should be one word, no blank or control character"
    )
    plan = {"sites": [{"label": "Q1", "element": "C", "new_label": label}]}
    error = answer(request("apply-plan", {"structure": snapshot_of(sucrose, True), "plan": plan}))
    assert (
        error["error"]["code"] == "bad-label" and "should be one word" in error["error"]["message"]
    )


@pytest.mark.parametrize(
    "name, metal, hydrides",
    [
        ("codtools_no_Z_valid_estimation.cif", "Ru", "H1"),
        ("sfarchiv2_2004877.cif", "Ir", "H(1), H(2)"),
    ],
)
def test_a_hydride_the_user_refined_counts_for_its_metal(shared_data, name, metal, hydrides):
    """cod-tools' no_Z_valid_estimation (Ru–H 1.53 Å) and COD 2004877 (Ir–H 1.44, 1.46 Å) sent
    with their H: main counted no H held by the metal (beyond a metal's 1.3 Å bond reach), so
    the answer neither kept them as the user's nor compared them with the job's count, as
    `crystalx assign` does (bonded_h_counts, hydrides=True). The H stay the user's: no command
    names them or adds H to the metal, and the note names them by the labels the user holds
    (main: "the input's H(1) as H13", a name only a written .res gives them)."""
    source = shared_data / "corpus" / name
    if not source.exists():
        pytest.skip(f"{name} is not in the corpus here")
    published = read_cif(source).structure
    snapshot = snapshot_of(published, peaks=False)
    hydrogens = [s for s in published.sites if is_hydrogen(s.element)]
    snapshot["sites"] += [
        {"label": h.label, "element": "H", "frac": list(h.frac)} for h in hydrogens
    ]
    result = answer(request("assign", {"structure": snapshot}))["result"]
    (site,) = [s for s in result["sites"] if s["element"] == metal]
    assert site["h_kept"] and site["note"].startswith("already carries H; left as it is")
    # the counts agree
    assert site["h_count"] == len(hydrides.split(",")) and "holds" not in site["note"]
    assert "the input's hydride" in site["note"]  # the job's word on them stays
    assert f"{hydrides} kept as the input refined" in site["note"], site["note"]
    assert "(the input's" not in site["note"]
    assert all(site["new_label"] not in labels for _, labels in result["hfix"])
    hydride_labels = {h.label.upper() for h in hydrogens}
    for command in result["commands"]:
        assert not hydride_labels & set(command.upper().split()), command
