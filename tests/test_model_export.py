"""The export forward is TorchMD_ET, and the ONNX file computes what PyTorch computes.

Needs the `train` extra (torch, torchmd-net); the runtime error tests need only onnxruntime.
"""

import json
import warnings
from itertools import islice

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from crystalx_core.elements import atomic_number
from crystalx_core.errors import CrystalXError
from crystalx_core.features import build_graph, incoming_edges, radius_edges
from crystalx_core.io.cif import read_cif
from crystalx_core.runtime import OnnxModel
from tests.conftest import BENCHMARK

CLASSES = ["H", "C", "N", "O", "S", "Cl"]
ENTRIES = ["FC_p21c", "FC_sucrose", "SXF_I43d"]


def _structure(entry: str):
    return read_cif(BENCHMARK / entry / "model.cif").structure


def _graph(entry: str):
    structure = _structure(entry)
    return build_graph(structure, [atomic_number(s.element) for s in structure.sites])


def _tensors(graph):
    import torch

    return [torch.from_numpy(a) for a in (graph.z, graph.pos, graph.edge_index, graph.incoming)]


@pytest.fixture(scope="module")
def train_extra():
    pytest.importorskip("torch")
    pytest.importorskip("torchmdnet")
    from crystalx_core.training.atoms import export, model

    return model, export


@pytest.fixture(scope="module")
def small(train_extra, tmp_path_factory):
    """A randomly initialised 32-channel, 2-layer classifier and its ONNX export."""
    import torch

    model_module, export_module = train_extra
    torch.manual_seed(0)
    config = model_module.ModelConfig(classes=CLASSES, hidden_channels=32, num_layers=2)
    model = model_module.AtomClassifier(config).eval()
    with torch.no_grad():  # biases start at zero: make every parameter matter
        for parameter in model.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    path = export_module.export_onnx(model, config, tmp_path_factory.mktemp("onnx") / "small.onnx")
    return model, config, path


@pytest.mark.parametrize("size", [(32, 2), (128, 4)])
def test_export_forward_is_the_stock_torchmd_et(shared_data, train_extra, size):
    """Same weights, same molecule: stock forward (own neighbour list) vs ours (our edges)."""
    import torch

    model_module, _ = train_extra
    torch.manual_seed(1)
    config = model_module.ModelConfig(classes=CLASSES, hidden_channels=size[0], num_layers=size[1])
    model = model_module.AtomClassifier(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    structure = _structure("FC_sucrose")  # 45 atoms, one molecule, taken out of the crystal
    pos = structure.cartesian(structure.frac_array).astype(np.float32)
    z = torch.tensor([atomic_number(s.element) for s in structure.sites])
    edges = radius_edges(pos, config.cutoff)
    assert np.bincount(edges[1]).max() < 64  # the stock list keeps at most 64 per atom
    with torch.no_grad():
        x_stock, vec_stock, *_ = model.representation(
            z, torch.from_numpy(pos), torch.zeros(len(z), dtype=torch.long)
        )
        x, vec = model.features(
            z,
            torch.from_numpy(pos),
            torch.from_numpy(edges),
            torch.from_numpy(incoming_edges(edges, len(z))),
        )
    assert torch.allclose(x, x_stock, atol=1e-4, rtol=0)
    assert torch.allclose(vec, vec_stock, atol=1e-4, rtol=0)


@pytest.mark.parametrize("entry", ENTRIES)
def test_onnx_matches_pytorch_on_real_structures(shared_data, small, entry):
    import torch

    model, config, path = small
    graph = _graph(entry)
    with torch.no_grad():
        expected = torch.softmax(model(*_tensors(graph))[: graph.n_centre], dim=1).numpy()
        logits = model(*_tensors(graph)).numpy()
    onnx_model = OnnxModel(path)
    probabilities = onnx_model.predict(graph)
    assert probabilities.shape == (graph.n_centre, len(CLASSES))
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert np.abs(probabilities - expected).max() < 1e-3
    (onnx_logits,) = onnx_model.session.run(
        None,
        {
            "z": graph.z,
            "pos": graph.pos,
            "edge_index": graph.edge_index,
            "incoming": graph.incoming,
        },
    )
    assert np.abs(onnx_logits - logits).max() < 1e-3


@pytest.mark.parametrize("entry", ENTRIES[:2])
def test_predictions_do_not_change_when_the_structure_is_rotated(shared_data, small, entry):
    _, _, path = small
    graph = _graph(entry)
    onnx_model = OnnxModel(path)
    rotation = Rotation.random(random_state=7).as_matrix().astype(np.float32)
    rotated = type(graph)(**{**graph.__dict__, "pos": graph.pos @ rotation})
    assert np.abs(onnx_model.predict(rotated) - onnx_model.predict(graph)).max() < 1e-4


def test_sidecar_holds_config_classes_and_provenance(small, train_extra):
    model_module, _ = train_extra
    _, config, path = small
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert model_module.ModelConfig.from_dict(sidecar["config"]) == config
    assert sidecar["config"]["classes"] == CLASSES
    assert sidecar["metadata"]["exporter"] == "dynamo"
    assert sidecar["metadata"]["torchmd-net"] == "3.1.0"
    onnx_model = OnnxModel(path)
    assert onnx_model.classes == CLASSES
    assert onnx_model.provider == "CPUExecutionProvider"


def test_torchscript_fallback_is_correct(shared_data, small, train_extra, tmp_path, monkeypatch):
    """If the dynamo exporter fails, the TorchScript one must still give the same numbers."""
    _, export_module = train_extra
    model, config, _ = small

    def broken(*args):
        raise RuntimeError("dynamo unavailable")

    monkeypatch.setattr(export_module, "_export_dynamo", broken)
    path = export_module.export_onnx(model, config, tmp_path / "fallback.onnx")
    assert (
        json.loads(path.with_suffix(".json").read_text())["metadata"]["exporter"] == "torchscript"
    )
    graph = _graph("FC_sucrose")
    reference = OnnxModel(small[2]).predict(graph)
    assert np.abs(OnnxModel(path).predict(graph) - reference).max() < 1e-4


def _run_folder(model_module, folder, config, seed: int):
    """A training run's folder (config.json, best.pt) with random weights."""
    import torch

    torch.manual_seed(seed)
    model = model_module.AtomClassifier(config)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    folder.mkdir()
    config.save(folder / "config.json")
    torch.save(model.state_dict(), folder / "best.pt")
    return model.eval()


def test_an_ensemble_averages_its_members_probabilities(shared_data, train_extra, tmp_path):
    """Two runs exported as one model: NAME.onnx, NAME_2.onnx and one sidecar naming the
    second; the runtime gives the mean of the two softmaxes, not either alone."""
    import torch

    model_module, export_module = train_extra
    config = model_module.ModelConfig(classes=CLASSES, hidden_channels=32, num_layers=2)
    models = [_run_folder(model_module, tmp_path / f"run{k}", config, k) for k in (1, 2)]
    path = export_module.export_ensemble(
        [tmp_path / "run1", tmp_path / "run2"], tmp_path / "m.onnx"
    )
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["members"] == ["m_2.onnx"]
    assert not (tmp_path / "m_2.json").exists()
    graph = _graph("FC_sucrose")
    with torch.no_grad():
        each = [torch.softmax(m(*_tensors(graph))[: graph.n_centre], dim=1).numpy() for m in models]
    got = OnnxModel(path).predict(graph)
    assert np.abs(got - np.mean(each, axis=0)).max() < 1e-4
    assert np.abs(each[0] - each[1]).max() > 0.05  # the members differ, so the mean is tested

    other = model_module.ModelConfig(classes=CLASSES, hidden_channels=32, num_layers=3)
    _run_folder(model_module, tmp_path / "run3", other, 3)
    with pytest.raises(CrystalXError, match="config differs"):
        export_module.export_ensemble([tmp_path / "run1", tmp_path / "run3"], tmp_path / "x.onnx")
    assert not list(tmp_path.glob("x*")), "nothing is written before the configs agree"


@pytest.mark.parametrize(
    "members, message",
    [(["../heavy.onnx"], "unreadable model sidecar"), (["absent.onnx"], "not found")],
)
def test_a_bad_ensemble_member_is_a_crystalx_error(small, tmp_path, members, message):
    _, _, path = small
    copy = tmp_path / "model.onnx"
    copy.write_bytes(path.read_bytes())
    sidecar = json.loads(path.with_suffix(".json").read_text())
    copy.with_suffix(".json").write_text(json.dumps({**sidecar, "members": members}))
    with pytest.raises(CrystalXError, match=message):
        OnnxModel(copy)


def test_model_config_round_trips_through_json(train_extra, tmp_path):
    model_module, _ = train_extra
    config = model_module.ModelConfig(classes=["0", "1", "2"], hidden_channels=64, cutoff=3.2)
    config.save(tmp_path / "config.json")
    assert model_module.ModelConfig.load(tmp_path / "config.json") == config
    assert config.num_classes == 3


# --- runtime failures: onnxruntime only -------------------------------------------------


def _sidecar(path, **config):
    config = {"classes": CLASSES, "cutoff": 5.0, "max_z": 100, **config}
    path.with_suffix(".json").write_text(json.dumps({"config": config}))


def test_missing_model_file_is_a_crystalx_error(tmp_path):
    with pytest.raises(CrystalXError, match="not found"):
        OnnxModel(tmp_path / "absent.onnx")


def test_corrupt_model_file_is_a_crystalx_error(tmp_path):
    path = tmp_path / "corrupt.onnx"
    path.write_bytes(b"\x08\x07this is not a protobuf" * 10)
    _sidecar(path)
    with pytest.raises(CrystalXError, match="cannot load the ONNX model"):
        OnnxModel(path)


@pytest.mark.parametrize(
    "text, message",
    [
        (None, "sidecar not found"),
        ("{not json", "unreadable model sidecar"),
        ('{"config": {"classes": ["C"], "cutoff": 5.0, "max_z": 100}}', "unreadable model sidecar"),
        ('{"metadata": {}}', "unreadable model sidecar"),
    ],
)
def test_bad_sidecar_is_a_crystalx_error(tmp_path, text, message):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"")
    if text is not None:
        path.with_suffix(".json").write_text(text)
    with pytest.raises(CrystalXError, match=message):
        OnnxModel(path)


def test_graph_with_another_cutoff_is_refused(shared_data, small):
    structure = _structure("FC_sucrose")
    graph = build_graph(structure, [6] * len(structure.sites), cutoff=3.2)
    with pytest.raises(CrystalXError, match="cutoff"):
        OnnxModel(small[2]).predict(graph)


def test_asking_torch_for_two_threads_beside_cctbx_keeps_results_right(shared_data, small):
    """A training run that asked for 2 threads learned on corrupted sums (cctbx's OpenMP
    stub); the package keeps torch on one thread so training and ONNX compute the same."""
    import torch

    model, _, path = small
    graph = _graph(ENTRIES[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.set_num_threads(2)
    with torch.no_grad():
        logits = model(*_tensors(graph)).numpy()
    (onnx_logits,) = OnnxModel(path).session.run(
        None,
        {
            "z": graph.z,
            "pos": graph.pos,
            "edge_index": graph.edge_index,
            "incoming": graph.incoming,
        },
    )
    assert np.abs(onnx_logits - logits).max() < 1e-3


def test_tiny_training_run_learns_resumes_and_exports(shared_data, train_extra, tmp_path):
    """The scripts that made the shipped models, end to end on 30 corpus structures (the
    disordered ones as their major part, counted in the summary): the loss falls, a second
    call resumes from the checkpoint (the first stopped by --stop-after halfway through its
    schedule), and the export matches torch, also through the assignment path that feeds the
    hydrogen model rule tokens."""
    import torch
    from crystalx_core.assign.baseline import baseline_h_counts
    from crystalx_core.assign.model import _placeable, model_h_counts
    from crystalx_core.geometry import connectivity
    from crystalx_core.features import combined_tokens
    from crystalx_core.training.atoms import dataset, train
    from crystalx_core.training.sources import corpus_entries

    model_module, export_module = train_extra
    data = tmp_path / "set.pkl.gz"
    assert (
        dataset.main(
            [
                str(shared_data / "corpus"),
                str(data),
                "--limit",
                "30",
                "--augmentations",
                "1",
                "--disorder",
                "major",
            ]
        )
        == 0
    )
    disordered = {
        e.name for e in islice(corpus_entries(shared_data / "corpus"), 30) if e.disorder != "no"
    }
    used = {sample["name"] for split in dataset.load(data).values() for sample in split["heavy"]}
    summary = json.loads((tmp_path / "set.summary.json").read_text())
    assert (
        sum(summary["major_parts"].values()) == len(disordered & used) > 0
    )  # counted apart from the ordered
    run = tmp_path / "run"
    args = [
        str(data),
        str(run),
        "--kind",
        "hydrogen",
        "--hidden",
        "16",
        "--layers",
        "2",
        "--lr",
        "3e-3",
        "--rule-tokens",
    ]
    assert train.main(args + ["--epochs", "4", "--stop-after", "2"]) == 0
    state = torch.load(run / "checkpoint.pt", weights_only=False)
    assert state["epoch"] == 2  # stopped halfway through the 4-epoch cosine, not at its end
    assert abs(state["optimiser"]["param_groups"][0]["lr"] - 3e-3 / 2) < 1e-9
    assert train.main(args + ["--epochs", "5"]) == 0  # resumes at epoch 2
    history = json.loads((run / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2, 3, 4, 5]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    models = tmp_path / "models"
    models.mkdir()
    path = export_module.export_run(
        run, models / "hydrogen.onnx"
    )  # checks ONNX against torch itself
    config = model_module.ModelConfig.load(run / "config.json")
    assert config.rule_tokens and config.max_z == 500
    model = model_module.AtomClassifier(config).eval()
    model.load_state_dict(torch.load(run / "best.pt", weights_only=True))
    structure = _structure("FC_sucrose")
    heavy = structure.with_sites([s for s in structure.sites if s.element != "H"])
    graph = build_graph(
        heavy, [atomic_number(s.element) for s in heavy.sites], config.cutoff, config.context
    )
    rules = np.asarray(baseline_h_counts(heavy))
    tokens = combined_tokens(graph.z, rules[graph.site])
    assert (tokens[graph.site == 0] == graph.z[0] + 100 * rules[0]).all()
    inputs = [torch.from_numpy(a) for a in (tokens, graph.pos, graph.edge_index, graph.incoming)]
    with torch.no_grad():
        expected = torch.softmax(model(*inputs)[: graph.n_centre], dim=1).numpy()
    answer = model_h_counts(
        heavy, str(models), penalty=None
    )  # the network's own answer, not fitted to UNIT
    # counts an atom has room for, as at inference
    expected = _placeable(expected, heavy, connectivity(heavy), list(range(5)))
    assert [n for n, _ in answer] == expected.argmax(axis=1).tolist()
    for (n, scores), row in zip(answer, expected):
        assert abs(scores[n] - row.max()) < 1e-4
    assert path.exists()

    heavy_run = (
        tmp_path / "heavy"
    )  # the heavy model with height tokens, fine-tuned from plain weights
    assert (
        train.main(
            [
                str(data),
                str(tmp_path / "plain"),
                "--kind",
                "heavy",
                "--hidden",
                "16",
                "--layers",
                "1",
                "--epochs",
                "1",
            ]
        )
        == 0
    )
    assert (
        train.main(
            [
                str(data),
                str(heavy_run),
                "--kind",
                "heavy",
                "--hidden",
                "16",
                "--layers",
                "1",
                "--epochs",
                "1",
                "--height-tokens",
                "--init",
                str(tmp_path / "plain" / "best.pt"),
            ]
        )
        == 0
    )
    assert model_module.ModelConfig.load(heavy_run / "config.json").height_tokens
    assert [row["run"] for row in json.loads((heavy_run / "init_history.json").read_text())] == [
        "plain"
    ]
    export_module.export_run(heavy_run, models / "heavy.onnx")
    from crystalx_core.assign.model import assign_model

    peaks = heavy.with_sites([s.with_element(None, f"Q{k + 1}") for k, s in enumerate(heavy.sites)])
    for k, peak in enumerate(peaks.sites):
        peak.peak_height = float(atomic_number(heavy.sites[k].element))
    assert len(assign_model(peaks, str(models)).sites) > 0


def test_second_pass_guesses_are_the_truth_with_a_bounded_share_changed(train_extra):
    from crystalx_core.training.atoms.dataset import SECOND_PASS_ERRORS, second_pass_guesses

    rng = np.random.default_rng(0)
    targets = [6] * 500 + [8] * 300 + [0] * 200
    shares = []
    for _ in range(40):
        guesses = second_pass_guesses(targets, ["C", "H", "O", "N"], rng)
        assert set(guesses.tolist()) <= {0, 6, 7, 8}
        shares.append(np.mean(guesses != np.array(targets)))
    assert max(shares) < SECOND_PASS_ERRORS + 0.04 and min(shares) < 0.03
    assert 0.04 < np.mean(shares) < 0.11  # the share is uniform on [0, SECOND_PASS_ERRORS]


def test_samples_with_overlapping_atoms_are_left_out(train_extra):
    """A graph with a node of more than MAX_DEGREE neighbours (atoms on top of each other) is
    not a crystal; one such sample once took a training run to 24 GiB and the OOM killer."""
    from crystalx_core.training.atoms.dataset import MAX_DEGREE, is_physical
    from crystalx_core.training.atoms.train import _physical

    star = np.array(
        [np.arange(1, MAX_DEGREE + 2), np.zeros(MAX_DEGREE + 1, dtype=int)]
    )  # node 0: 101 in
    dense = {"edge_index": star.astype(np.int32)}
    sparse = {"edge_index": star[:, :MAX_DEGREE].astype(np.int32)}
    empty = {"edge_index": np.zeros((2, 0), dtype=np.int32)}
    assert not is_physical(dense) and is_physical(sparse) and is_physical(empty)
    said = []
    assert _physical([dense, sparse, empty], "train heavy", said.append) == [sparse, empty]
    assert said == [f"train heavy: left out 1 samples with over {MAX_DEGREE} neighbours on a node"]


def test_earlier_weights_widen_to_token_embeddings(train_extra):
    """Fine-tuning a model that gained height tokens from one without: token t starts as
    the element t mod MAX_Z, every other weight as it was."""
    import torch
    from crystalx_core.features import HEIGHT_BINS, MAX_Z
    from crystalx_core.training.atoms.train import _widened

    model_module, _ = train_extra
    plain = model_module.ModelConfig(classes=CLASSES, hidden_channels=16, num_layers=1, num_heads=2)
    wide = model_module.ModelConfig(
        classes=CLASSES,
        hidden_channels=16,
        num_layers=1,
        num_heads=2,
        height_tokens=True,
        max_z=MAX_Z * HEIGHT_BINS,
    )
    earlier = model_module.AtomClassifier(plain).state_dict()
    model = model_module.AtomClassifier(wide)
    model.load_state_dict(_widened(earlier, model.state_dict()))
    state = model.state_dict()
    for key in (
        "representation.embedding.weight",
        "representation.neighbor_embedding.embedding.weight",
    ):
        assert state[key].shape[0] == MAX_Z * HEIGHT_BINS
        assert torch.equal(state[key][6 + 3 * MAX_Z], earlier[key][6])
    assert torch.equal(state["head_vec.weight"], earlier["head_vec.weight"])


def test_disordered_structures_give_their_major_part_or_are_left_out(shared_data, train_extra):
    """--disorder major: real CIFs with disorder become ordered models of their major part
    (the other alternative and atoms at half occupancy or less go, the rest is at full
    occupancy, UNIT follows); a CIF whose alternatives are not separated is refused."""
    from crystalx_core.training.atoms.dataset import PARTS_OVERLAP, usable
    from crystalx_core.training.sources import corpus_entries
    from crystalx_core.geometry import neighbours

    entries = {e.name: e for e in corpus_entries(shared_data / "corpus")}
    groups = entries["finalcif_Esser_JW367_0m.cif"]  # PART 1 at 0.9, PART 2 at 0.1
    assert usable(groups) == (None, "disorder (yes)")  # the default still skips
    raw = groups.load()
    ordered, why = usable(groups, "major")
    assert why == "" and len(ordered.sites) == len(raw.sites) - 5
    assert {s.label for s in raw.sites if s.part == 2}.isdisjoint(s.label for s in ordered.sites)
    assert {s.label for s in raw.sites if s.part == 1} <= {s.label for s in ordered.sites}
    assert all(s.occupancy == 1.0 and s.part == 0 for s in ordered.sites)
    heavy = [i for i, s in enumerate(ordered.sites) if s.element != "H"]
    assert not any(
        ordered.sites[c.j].element != "H"
        for near in neighbours(ordered, PARTS_OVERLAP, centres=heavy)
        for c in near
    )
    occupancies = entries[
        "sfarchiv2_2004862.cif"
    ]  # no groups: two H at 0.62, their alternatives at 0.38
    ordered, _ = usable(occupancies, "major")
    raw = occupancies.load()
    assert sorted({s.label for s in raw.sites} - {s.label for s in ordered.sites}) == ["H2B", "H3B"]
    assert dict(zip(ordered.sfac, ordered.unit)) == dict(zip(raw.sfac, raw.unit))  # 0.62 + 0.38 = 1
    solvent = entries["sfarchiv2_2004943.cif"]  # a methanol C and O and a water O at 0.33 go
    ordered, _ = usable(solvent, "major")
    raw = solvent.load()
    raw = dict(zip(raw.sfac, raw.unit))
    order = ordered.space_group_order  # 18, all three on general positions
    assert dict(zip(ordered.sfac, ordered.unit)) == pytest.approx(
        {**raw, "C": raw["C"] - 0.33 * order, "O": raw["O"] - 0.66 * order}, abs=0.1
    )
    assert usable(entries["finalcif_1508699.cif"], "major") == (
        None,
        "disorder (no ordered major part)",
    )


def test_a_cif_with_displacements_in_the_wrong_units_is_left_out(shared_data, train_extra):
    """COD 2000642 gives its Uij in 10⁻⁴ Å² (U11 of C(1) "457(8)"): simulated, its map is empty
    and every peak would be labelled 'not an atom'. It is skipped with the reason; an H with
    a wild Uiso (sfarchiv2 2004836) scatters next to nothing and does not count."""
    from crystalx_core.training.atoms.dataset import usable
    from crystalx_core.training.sources import corpus_entries

    entries = {e.name: e for e in corpus_entries(shared_data / "corpus")}
    assert usable(entries["codtools_2000642.cif"]) == (None, "displacement parameters over 5 Å²")
    kept, why = usable(entries["sfarchiv2_2004836.cif"])
    assert why == "" and max(s.u_iso for s in kept.sites if s.element == "H") > 5


def test_lone_ligands_give_heavy_examples_only_when_asked(shared_data, tmp_path):
    """--ligand-peaks: a MetaLigDB-style molecule (here XH_alanine's, real geometry) in its
    P1 box gives heavy-model examples, the simulated map's peaks labelled with its elements;
    without the flag it feeds the hydrogen model only."""
    import bz2
    from crystalx_core.training.atoms.dataset import build

    truth = read_cif(BENCHMARK / "XH_alanine" / "model.cif").structure
    xyz = np.array([truth.cartesian(s.frac) for s in truth.sites])
    record = {
        "value": {
            "atomic_props": {
                "x": xyz[:, 0].tolist(),
                "y": xyz[:, 1].tolist(),
                "z": xyz[:, 2].tolist(),
                "atoms": [s.element for s in truth.sites],
            }
        }
    }
    extra = tmp_path / "sources"
    extra.mkdir()
    with bz2.open(extra / "ligands.jsonlines.bz2", "wt") as stream:
        for key in ("a", "b", "c"):
            stream.write(json.dumps({"key": key, **record}) + "\n")
    corpus = tmp_path / "corpus"  # no corpus structures: only the ligands
    corpus.mkdir()
    (corpus / "INDEX.tsv").write_text("file\tdisorder\n")
    for asked in (False, True):
        data, summary = build(
            corpus,
            1,
            0,
            extra=extra,
            take={"ligand": 3},
            extra_augmentations=2,
            ligand_peaks=asked,
            log=lambda _: None,
        )
        heavy = [sample for split in data.values() for sample in split["heavy"]]
        assert (
            sum(len(split["hydrogen"]) for split in data.values()) == 6
        )  # 3 molecules × 2 noise levels
        assert len(heavy) == (6 if asked else 0) and summary.sources == {"ligand": 3}
        for (
            sample
        ) in heavy:  # every one of alanine's 6 non-H atoms is found, and nothing else is an atom
            assert sorted(z for z in sample["y"].tolist() if z) == [6, 6, 6, 7, 8, 8]
