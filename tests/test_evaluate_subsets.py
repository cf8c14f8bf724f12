"""The metal-complex subset that atoms.evaluate reports beside the whole split (issue 25)."""

from dataclasses import replace
from pathlib import Path

import pytest

from crystalx_core.assign import resolve_method
from crystalx_core.io.cif import read_cif
from crystalx_core.training.atoms import evaluate
from crystalx_core.training.atoms.evaluate import heavy_metrics, hydrogen_metrics, is_metal_complex

pytestmark = pytest.mark.skipif(
    resolve_method("auto") != "model", reason="no shipped models in onnx_models/"
)


def _small(corpus: Path, metal: bool, n: int) -> list:
    return [
        t
        for t in evaluate.test_structures(corpus, "val")
        if is_metal_complex(t) == metal and sum(s.element not in ("H", "D") for s in t.sites) <= 30
    ][:n]


def test_the_metal_subset_is_the_metal_structures_measured_alone(shared_data):
    corpus = Path(shared_data) / "corpus"
    metals, organics = _small(corpus, True, 2), _small(corpus, False, 2)
    assert len(metals) == 2 and len(organics) == 2
    mixed = heavy_metrics(organics + metals, 0.0, seeds=(7,))
    alone = heavy_metrics(metals, 0.0, seeds=(7,))
    subset = mixed["metal_complexes"]
    assert subset["structures"] == 2
    assert subset["atoms"] == alone["atoms"] < mixed["atoms"]
    assert subset["accuracy"] == pytest.approx(alone["accuracy"])
    assert subset["structures_fully_correct"] == pytest.approx(alone["structures_fully_correct"])
    assert heavy_metrics(organics, 0.0, seeds=(7,))["metal_complexes"]["accuracy"] is None

    h_mixed, h_alone = hydrogen_metrics(organics + metals), hydrogen_metrics(metals)
    assert h_mixed["metal_complexes"]["atoms"] == h_alone["atoms"]
    assert h_mixed["metal_complexes"]["accuracy"] == pytest.approx(h_alone["accuracy"])


def test_only_d_block_metals_make_a_metal_complex(shared_data):
    sucrose = read_cif(Path(shared_data) / "benchmark" / "FC_sucrose" / "model.cif").structure
    first, *rest = sucrose.sites
    assert not is_metal_complex(sucrose)
    assert not is_metal_complex(sucrose.with_sites([replace(first, element="Na"), *rest]))
    assert is_metal_complex(sucrose.with_sites([replace(first, element="Cu"), *rest]))


def test_update_remeasures_the_h_counts_and_keeps_the_heavy_rows(shared_data, tmp_path):
    """A change to the H truth alone (each H counted once, c9267ae) needs no new maps: --update
    keeps the file's heavy rows as they were and writes the H row measured now."""
    import json

    heavy = [{"noise_A": 0.0, "accuracy": 0.5, "marker": "kept"}]
    out = tmp_path / "metrics.json"
    out.write_text(json.dumps({"split": "val", "formula": True, "heavy": heavy, "hydrogen": {}}))
    evaluate.main(
        [str(shared_data / "corpus"), str(out), "--split", "val", "--hydrogen-only", "--update"]
    )
    written = json.loads(out.read_text())
    assert written["heavy"] == heavy
    assert written["hydrogen"]["atoms"] > 0 and 0 < written["hydrogen"]["accuracy"] <= 1


def test_update_refuses_a_file_of_another_split(tmp_path):
    """Rows of another split would make a card that mixes two measurements: a one-line error,
    and the file is left as it was."""
    out = tmp_path / "metrics.json"
    out.write_text('{"split": "test", "formula": true, "heavy": []}')
    with pytest.raises(SystemExit, match="measured split 'test'"):
        evaluate.main(["no-corpus", str(out), "--split", "val", "--hydrogen-only", "--update"])
    assert out.read_text() == '{"split": "test", "formula": true, "heavy": []}'


def test_misses_name_each_wrong_h_count_with_what_a_crystallographer_reads(shared_data, tmp_path):
    """--misses writes one line per atom the model or the rules count wrongly, as many as the
    metrics count, each naming the published atom (its element as the corpus CIF has it), its
    bonded neighbours at bonding distances, the model's pooled probabilities (summing to one,
    the most likely count theirs) and both counts."""
    import json

    from crystalx_core.elements import is_hydrogen

    out, misses = tmp_path / "val.json", tmp_path / "misses.jsonl"
    evaluate.main(
        [str(shared_data / "corpus"), str(out), "--split", "val", "--hydrogen-only"]
        + ["--misses", str(misses)]
    )
    lines = [json.loads(line) for line in misses.read_text().splitlines()]
    h = json.loads(out.read_text())["hydrogen"]
    assert len([m for m in lines if m["model"] != m["truth"]]) == round(
        (1 - h["accuracy"]) * h["atoms"]
    )
    assert len([m for m in lines if m["rules"] != m["truth"]]) == round(
        (1 - h["baseline_accuracy"]) * h["atoms"]
    )
    assert lines and all(m["model"] != m["truth"] or m["rules"] != m["truth"] for m in lines)
    for m in lines:
        published = read_cif(shared_data / "corpus" / m["structure"]).structure
        site = next(s for s in published.sites if s.label == m["label"])
        assert site.element == m["element"] and not is_hydrogen(site.element)
        assert all(0.5 < n["distance"] < 3.2 for n in m["neighbours"])
        assert sum(m["agreed"].values()) == pytest.approx(1.0, abs=0.01)
        assert m["most_likely"] == int(max(m["agreed"], key=m["agreed"].get))


def test_metals_keeps_the_structures_with_that_many_different_metals(shared_data, tmp_path):
    """--metals 2 measures the structures where the metals' bond valence can weigh the choice
    (assign.metal_valence): in the validation split, COD 4060313 (Au and Tl) alone."""
    import json

    from crystalx_core.elements import is_metal

    corpus = shared_data / "corpus"
    two = [
        t
        for t in evaluate.test_structures(corpus, "val")
        if len({s.element for s in t.sites if is_metal(s.element)}) >= 2
    ]
    assert [Path(str(t.source)).name for t in two] == ["sfcod_4060313.cif"]
    out = tmp_path / "metals.json"
    evaluate.main([str(corpus), str(out), "--split", "val", "--metals", "2", "--hydrogen-only"])
    assert json.loads(out.read_text())["hydrogen"]["atoms"] == hydrogen_metrics(two)["atoms"]


def test_a_corpus_file_the_reader_refuses_is_left_out_and_named(shared_data, tmp_path, capsys):
    """COD 2000318 as cod-tools' test input (r91933) gives 'I 2/c 1 1' with beta 117°, a cell
    without that group's metric, which `crystalx assign` refuses in one line; `evaluate --split
    train --metals 1` read it all the same and stopped with a traceback when simulating its map.
    It is now left out as the reader refuses it, counted and named; the rest are measured."""
    import json
    import shutil

    refused, kept = "codtools_2000318-r91933.cif", "codtools_2100156-correct-values.cif"
    index = (shared_data / "corpus" / "INDEX.tsv").read_text().splitlines()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rows = [row for row in index[1:] if row.split("\t")[0] in (refused, kept)]
    (corpus / "INDEX.tsv").write_text("\n".join([index[0], *rows]) + "\n")
    for name in (refused, kept):
        shutil.copy(shared_data / "corpus" / name, corpus / name)
    out = tmp_path / "train.json"
    args = [str(corpus), str(out), "--split", "train", "--metals", "1", "--seeds", "7"]
    assert evaluate.main(args) == 0
    err = capsys.readouterr().err
    assert f"{refused}:36: data_2000318: cell" in err and "metric symmetry" in err
    assert "train: 1 structures, left out 1 unreadable" in err
    assert [row["structures"] for row in json.loads(out.read_text())["heavy"]] == [1, 1, 1]
