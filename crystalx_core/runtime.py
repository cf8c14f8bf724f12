"""Run an exported classifier with onnxruntime: no torch at run time.

A model is two files: NAME.onnx and NAME.json, the sidecar written by
crystalx_core.training.atoms.export with the class list and the cutoff the graph must be
built with. The shipped models are in MODEL_DIR: the repository's onnx_models/, which a
built wheel carries inside the package as crystalx_core/onnx_models (setup.py).
Where crystalx_core.training.atoms.calibrate fitted one, the sidecar also holds the temperature T
that calibrates the probabilities reported to the user (OnnxModel.calibrated). A sidecar may
name further ONNX files ("members", beside it, same inputs and outputs): the model is then the
ensemble of NAME.onnx and those, the mean of their probabilities, and its temperature is fitted to
that mean (the space-group models, crystalx_core.pxrd.predict, read members the same way).
"""

from __future__ import annotations

import json
import logging
import os
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from crystalx_core.errors import CrystalXError, InputError
from crystalx_core.features import GraphInputs

log = logging.getLogger(__name__)

# neighbour pairs in one graph: the network's messages take about 4 kB each (7 GB measured
# at 1.8 million); a real 20,000-site structure has about 650,000
MAX_EDGES = 1_000_000

# first available wins; onnxruntime-gpu provides CUDA, the plain package only the CPU
PREFERRED_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")


def _shipped_models() -> Path:
    """crystalx_core/onnx_models in an installed wheel, else (a source checkout, an editable
    install) the repository's onnx_models/ beside the package."""
    package = Path(__file__).resolve().parent
    inside = package / "onnx_models"
    return inside if inside.is_dir() else package.parent / "onnx_models"


MODEL_DIR = Path(os.environ.get("CRYSTALX_MODELS") or _shipped_models())


def require_models(names: tuple[str, ...], instead: str) -> None:
    """A clear error when a shipped model or onnxruntime is missing, so that no method falls
    back to a weaker one unseen; `instead` names the option that works without them."""
    missing = [f"{name}.onnx" for name in names if not (MODEL_DIR / f"{name}.onnx").is_file()]
    if missing:
        raise CrystalXError(
            f"{', '.join(missing)} missing from the model folder: reinstall crystalx (or set "
            f"CRYSTALX_MODELS to a model folder), or choose {instead}",
            str(MODEL_DIR),
        )
    if find_spec("onnxruntime") is None:
        raise CrystalXError(
            f"the models need onnxruntime: pip install 'crystalx[cpu]', or choose {instead}"
        )


def _onnxruntime():
    """onnxruntime, imported without its telemetry. Since 1.32 (POSIX telemetry,
    microsoft/onnxruntime PR 27379) `import onnxruntime` makes
    ~/.cache/Microsoft/DeveloperTools/.onnxruntime (a device id, an event database) in the
    user's home, and prints a coloured warning on every run where the home cannot be written.
    ORT_DISABLE_TELEMETRY=1, the library's own switch, is read at that import
    (without_onnxruntime_telemetry)."""
    without_onnxruntime_telemetry()
    import onnxruntime

    return onnxruntime


def without_onnxruntime_telemetry() -> None:
    """ORT_DISABLE_TELEMETRY=1 for every later `import onnxruntime` of this process, unless the
    user set it: the jobs' (_onnxruntime) and the training scripts' (crystalx_core.training)."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")


def open_session(path):
    """An onnxruntime session for an .onnx file on the first preferred provider available,
    threads as CRYSTALX_THREADS says; a CrystalXError naming the file when it cannot be read."""
    try:
        onnxruntime = _onnxruntime()
    except ImportError:
        raise CrystalXError(
            "running a model needs onnxruntime: pip install 'crystalx[cpu]'", str(path)
        ) from None
    if not Path(path).is_file():
        raise CrystalXError("model file not found", str(path))
    available = onnxruntime.get_available_providers()
    providers = [p for p in PREFERRED_PROVIDERS if p in available]
    try:
        return onnxruntime.InferenceSession(str(path), _session_options(), providers=providers)
    except Exception as error:  # onnxruntime raises its own untyped errors on bad files
        raise CrystalXError(f"cannot load the ONNX model ({error})", str(path)) from None


class OnnxModel:
    """An exported AtomClassifier: graph in, per-centre class probabilities out."""

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.is_file():
            raise CrystalXError("model file not found", str(self.path))
        sidecar = self.path.with_suffix(".json")
        self.config, self.temperature, members = _read_sidecar(sidecar)
        self.classes: list[str] = list(self.config["classes"])
        self.cutoff = float(self.config["cutoff"])
        self.context = float(
            self.config.get("context", self.cutoff)
        )  # graphs must be built with both
        self.members = [self.path] + [self.path.with_name(name) for name in members]
        self.sessions = [open_session(member) for member in self.members]
        self.session = self.sessions[0]
        self.provider = self.session.get_providers()[0]
        log.info("%s runs on %s", ", ".join(m.name for m in self.members), self.provider)
        for member, session in zip(self.members, self.sessions):
            names = sorted(i.name for i in session.get_inputs())
            if names != ["edge_index", "incoming", "pos", "z"]:
                raise CrystalXError(f"unexpected model inputs {names}", str(member))

    def predict(self, graph: GraphInputs) -> np.ndarray:
        """Softmax probabilities (n_centre, len(classes)) for the graph's centre nodes; for an
        ensemble, the mean of its members' (mean_probabilities)."""
        if abs(graph.cutoff - self.cutoff) > 1e-6:
            raise CrystalXError(
                f"graph built with a {graph.cutoff} Å cutoff, the model needs {self.cutoff} Å",
                str(self.path),
            )
        if graph.num_nodes and graph.z.max() >= self.config["max_z"]:
            raise CrystalXError(
                f"atomic numbers must be below {self.config['max_z']}", str(self.path)
            )
        if graph.n_centre == 0:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        if graph.num_edges > MAX_EDGES:
            raise InputError(
                f"{graph.num_edges:,} neighbour pairs within {self.cutoff:g} Å among "
                f"{graph.n_centre:,} sites: over the {MAX_EDGES:,} the model runs on in bounded "
                "memory (about 4 GB); are the peaks that dense? --method baseline assigns "
                "without the model"
            )
        inputs = {
            "z": graph.z,
            "pos": graph.pos,
            "edge_index": graph.edge_index,
            "incoming": graph.incoming,
        }
        return mean_probabilities(
            [session.run(None, inputs)[0][: graph.n_centre] for session in self.sessions]
        )

    def calibrated(self, probabilities: np.ndarray) -> np.ndarray:
        """Rows of predict's probabilities (restricted and renormalised or not) as
        softmax(logits / T) over the same classes: p^(1/T), renormalised. Answers are chosen
        from the uncalibrated probabilities, for which the formula-aware choice was tuned,
        so T changes what is reported, never what is chosen."""
        if self.temperature == 1.0:
            return probabilities
        with np.errstate(divide="ignore"):
            return softmax(np.log(probabilities), self.temperature)


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Rows of softmax(logits / T); -inf logits (classes left out) get 0. Log-probabilities
    serve as logits: softmax(log p, T) is p^(1/T) renormalised."""
    z = logits / temperature
    weights = np.exp(z - z.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)


def _session_options():
    """CRYSTALX_THREADS caps onnxruntime's threads: batch workers use one each, so N workers
    on N cores do not fight over them (small graphs also run faster on one thread).

    No memory arena: it keeps the largest run's buffers for the life of the session, and
    three passes (two sessions) over a 5,000-atom graph held 1.2 GB that way; without it a
    run's memory goes back when the run ends."""
    onnxruntime = _onnxruntime()

    options = onnxruntime.SessionOptions()
    options.enable_cpu_mem_arena = False
    threads = os.environ.get("CRYSTALX_THREADS", "").strip()
    if threads.isdigit() and int(threads) > 0:
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
    return options


def member_names(sidecar: dict) -> list[str]:
    """The ensemble's other members a sidecar names ("members"; none for a single model),
    checked to be .onnx files beside it; a ValueError otherwise."""
    members = [str(name) for name in sidecar.get("members", [])]
    if any(Path(name).name != name or not name.endswith(".onnx") for name in members):
        raise ValueError(f"members must be .onnx file names beside the sidecar: {members}")
    return members


def mean_probabilities(logits: list[np.ndarray]) -> np.ndarray:
    """An ensemble's probabilities: the mean of its members' softmax (averaging probabilities,
    not logits, keeps one confident member from overruling the others)."""
    return np.mean([softmax(z) for z in logits], axis=0)


def _read_sidecar(path: Path) -> tuple[dict, float, list[str]]:
    """The model config, the calibration temperature (1 without one) and the file names of
    the ensemble's other members (none for a single model) from NAME.json, checked for what
    the runtime relies on."""
    try:
        sidecar = json.loads(path.read_text())
        config = sidecar["config"]
        if len(config["classes"]) < 2 or float(config["cutoff"]) <= 0 or int(config["max_z"]) < 1:
            raise ValueError("classes, cutoff or max_z out of range")
        temperature = float(sidecar.get("calibration", {}).get("temperature", 1.0))
        if not 0.05 <= temperature <= 20.0:  # NaN fails too
            raise ValueError(f"calibration temperature {temperature} out of range")
        members = member_names(sidecar)
    except FileNotFoundError:
        raise CrystalXError(
            "model sidecar not found (it holds the class list)", str(path)
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CrystalXError(f"unreadable model sidecar ({error})", str(path)) from None
    return config, temperature, members
