"""The weighing of models, class prior and lattice evidence (training.pxrd.mix) that is
measured against the majority answer on the corpus."""

import numpy as np
import pytest

from crystalx_core.pxrd.labels import N_SPACE_GROUPS

pytest.importorskip("scipy")


def _log_prior() -> np.ndarray:
    """About the corpus's: P2(1)/c 30 %, P-1 20 %, P2(1)2(1)2(1) 10 %, the rest spread."""
    prior = np.full(N_SPACE_GROUPS, 0.4 / (N_SPACE_GROUPS - 3))
    prior[[13, 1, 18]] = 0.3, 0.2, 0.1
    return np.log(prior)


def test_an_informative_model_gets_weight_and_beats_the_prior_alone():
    from crystalx_core.training.pxrd.mix import fit, measured, mixed_logits

    rng = np.random.default_rng(0)
    labels = rng.choice([2, 14, 19, 61], size=200, p=[0.3, 0.4, 0.2, 0.1])
    # a model right 70 % of the time, else a random group
    guess = np.where(rng.random(200) < 0.7, labels, rng.integers(1, 231, 200))
    p = np.full((200, N_SPACE_GROUPS), 0.3 / (N_SPACE_GROUPS - 1))
    p[np.arange(200), guess - 1] = 0.7
    prior = np.tile(_log_prior(), (200, 1))
    weights = fit([np.log(p), prior], None, labels)
    assert weights[0] > 0.1
    mixed = measured(mixed_logits(weights, [np.log(p), prior], None), labels)
    alone = measured(mixed_logits(fit([prior], None, labels), [prior], None), labels)
    assert mixed["top1"] > alone["top1"] + 0.2 and mixed["nll"] < alone["nll"]
    assert mixed["patterns_right"]["top1"] == round(mixed["top1"] * 200)
    # a model that guesses at random (sure of a group unrelated to the label) gets no say
    noise = np.full_like(p, 0.3 / (N_SPACE_GROUPS - 1))
    noise[np.arange(200), rng.integers(0, N_SPACE_GROUPS, 200)] = 0.7
    weights = fit([np.log(noise), prior], None, labels)
    assert weights[0] < 0.05
    assert (
        measured(mixed_logits(weights, [np.log(noise), prior], None), labels)["top1"]
        == (alone["top1"])
    )


def test_orthorhombic_evidence_moves_an_orthorhombic_crystal_off_the_commonest_group(
    shared_data,
):
    from crystalx_core.io.cif import read_cif
    from crystalx_core.pxrd.metric import ALL_LATTICES, evidence_matrix
    from crystalx_core.pxrd.simulate import simulate
    from crystalx_core.training.pxrd.mix import MOVED, fit, measured, mixed_logits

    # P2(1)2(1)2(1) and P2(1)/c corpus crystals (real atoms and cells)
    patterns = np.stack(
        [
            simulate(read_cif(shared_data / "corpus" / name).structure)
            for name in ("codtools_1506182-disorder-groups.cif", "codtools_2000001.cif")
        ]
    )
    evidence = evidence_matrix(patterns, lattices=ALL_LATTICES)
    labels = np.array([19, 14] * 20)
    evidence, prior = np.tile(evidence, (20, 1)), np.tile(_log_prior(), (40, 1))
    without = measured(mixed_logits(fit([prior], None, labels), [prior], None), labels)
    weights = fit([prior], evidence, labels)
    moved = weights[1:].reshape(len(MOVED), len(ALL_LATTICES))
    with_evidence = measured(mixed_logits(weights, [prior], evidence), labels)
    assert without["top1"] == 0.5  # the prior answers P2(1)/c for both
    assert with_evidence["top1"] == 1.0 and with_evidence["crystal_system"] == 1.0
    assert moved[MOVED.index("Orthorhombic"), ALL_LATTICES.index("orthorhombic")] > 0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["mol"], "'mol' is not NAME=ONNX"),
        (["mol=m.onnx", "--fit-every", "0"], "--fit-every must be at least 1"),
        (["mol=m.onnx", "--fit-every", "4"], "thins the train split only"),
    ],
)
def test_bad_arguments_get_a_one_line_error(argv, message, tmp_path, capsys):
    from crystalx_core.training.pxrd import mix

    with pytest.raises(SystemExit) as stop:
        mix.main([str(tmp_path / "set.npz"), str(tmp_path / "out.json"), *argv])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def _corpus_set(shared_data, path, train_copies=1):
    """Four corpus crystals saved as a pattern set: every one in train (`train_copies`
    patterns each, in structure order like dataset's), three in validation and in test."""
    from crystalx_core.io.cif import read_cif
    from crystalx_core.pxrd.simulate import simulate
    from crystalx_core.training.pxrd.dataset import save

    cifs = {  # name: space group
        "codtools_2000001.cif": 14,
        "codtools_2000056.cif": 14,
        "codtools_1506182-disorder-groups.cif": 19,
        "codtools_2000334.cif": 61,
    }
    patterns = {n: simulate(read_cif(shared_data / "corpus" / n).structure) for n in cifs}
    train = [n for n in cifs for _ in range(train_copies)]
    splits = {"train": train, "val": list(cifs)[:3], "test": list(cifs)[1:]}
    data = {
        split: {
            "patterns": [patterns[n] for n in names],
            "labels": [cifs[n] for n in names],
            "names": names,
        }
        for split, names in splits.items()
    }
    save(data, {}, path)
    return path


def test_the_train_fit_thins_train_caches_evidence_by_set_and_keeps_the_whole_prior(
    shared_data, tmp_path
):
    import json

    from crystalx_core.runtime import MODEL_DIR
    from crystalx_core.training.pxrd import mix

    data = _corpus_set(shared_data, tmp_path / "four.npz", train_copies=2)
    output, cache = tmp_path / "mix_train.json", tmp_path / "evidence"
    model = f"mof={MODEL_DIR / 'pxrd_space_group_mof.onnx'}"
    argv = [str(data), str(output), model, "--evidence", str(cache)]
    assert mix.main([*argv, "--fit-split", "train", "--fit-every", "4"]) == 0
    result = json.loads(output.read_text())
    # train holds 8 patterns, two per structure: every 4th fits on two structures' patterns,
    # but the prior counts all four (P2(1)/c twice, the commonest)
    assert result["fitted_on"] == "the train split (2 patterns, every 4th)"
    assert result["prior"].startswith("4 real training structures, commonest group 14")
    assert sorted(p.name for p in cache.iterdir()) == [
        "four_test_all.npy",
        "four_train_every4_all.npy",
        "four_val_all.npy",
    ]
    assert len(np.load(cache / "four_train_every4_all.npy")) == 2
    assert list(result["combinations"]) == [
        "prior",
        "prior + lattice evidence",
        "mof + prior",
        "mof + prior + lattice evidence",
    ]
    row = result["combinations"]["mof + prior + lattice evidence"]
    assert len(row["weights"]) == 2 + len(mix.MOVED) * len(result["lattices"])
    assert row["test"]["patterns_right"]["top1"] <= 3
    # another pattern set with the same split sizes gets its own cache, not this one's
    other = _corpus_set(shared_data, tmp_path / "other.npz", train_copies=2)
    assert mix.main([str(other), str(output), model, "--evidence", str(cache)]) == 0
    assert {"other_val_all.npy", "other_test_all.npy"} <= {p.name for p in cache.iterdir()}


def test_the_command_scores_every_combination_and_the_card_lists_them(shared_data, tmp_path):
    import importlib.util
    import json
    from pathlib import Path

    from crystalx_core.runtime import MODEL_DIR
    from crystalx_core.training.pxrd import mix

    card = Path(__file__).parent.parent / "benchmarks" / "model_card.py"
    spec = importlib.util.spec_from_file_location("model_card", card)
    model_card = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(model_card)

    _corpus_set(shared_data, tmp_path / "set.npz")
    output = tmp_path / "pxrd_corpus_mix.json"
    models = [
        f"mol={MODEL_DIR / 'pxrd_space_group.onnx'}",
        f"mof={MODEL_DIR / 'pxrd_space_group_mof.onnx'}",
    ]
    assert mix.main([str(tmp_path / "set.npz"), str(output), *models]) == 0
    result = json.loads(output.read_text())
    assert list(result["combinations"]) == [
        "prior",
        "mol + prior",
        "mof + prior",
        "mol + mof + prior",
    ]
    assert result["majority_top1"] == {"val": pytest.approx(2 / 3, abs=1e-4), "test": 0.3333}
    prior_only = result["combinations"]["prior"]
    assert prior_only["val"]["patterns_right"]["top1"] == 2  # P2(1)/c, the commonest, twice
    assert (
        len(prior_only["weights"]) == 1
        and len(result["combinations"]["mol + mof + prior"]["weights"]) == 3
    )
    lines = model_card.corpus_mix_lines([result])
    rows = [line for line in lines if line.startswith("| ") and "%" in line]
    assert [row.split(" | ")[0][2:] for row in rows] == list(result["combinations"])
    assert "66.67 % (2)" in rows[0] and "33.33 % (1)" in rows[0]
    assert "validation columns are in-sample" in "\n".join(lines)
