"""Run an exported classifier with onnxruntime: no torch at run time.

A model is two files: NAME.onnx and NAME.json, the sidecar written by
crystalx_core.training.export with the class list and the cutoff the graph must be
built with, and where crystalx_core.training.calibrate fitted one, the temperature T that
calibrates the probabilities reported to the user (OnnxModel.calibrated).
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import onnxruntime

from crystalx_core.errors import CrystalXError
from crystalx_core.features import GraphInputs

log = logging.getLogger(__name__)

# first available wins; onnxruntime-gpu provides CUDA, the plain package only the CPU
PREFERRED_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")


class OnnxModel:
    """An exported AtomClassifier: graph in, per-centre class probabilities out."""

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.is_file():
            raise CrystalXError("model file not found", str(self.path))
        self.config, self.temperature = _read_sidecar(self.path.with_suffix(".json"))
        self.classes: list[str] = list(self.config["classes"])
        self.cutoff = float(self.config["cutoff"])
        self.context = float(self.config.get("context", self.cutoff))  # graphs must be built with both
        available = onnxruntime.get_available_providers()
        providers = [p for p in PREFERRED_PROVIDERS if p in available]
        try:
            self.session = onnxruntime.InferenceSession(str(self.path), _session_options(), providers=providers)
        except Exception as error:  # onnxruntime raises its own untyped errors on bad files
            raise CrystalXError(f"cannot load the ONNX model ({error})", str(self.path)) from None
        self.provider = self.session.get_providers()[0]
        log.info("%s runs on %s", self.path.name, self.provider)
        names = sorted(i.name for i in self.session.get_inputs())
        if names != ["edge_index", "incoming", "pos", "z"]:
            raise CrystalXError(f"unexpected model inputs {names}", str(self.path))

    def predict(self, graph: GraphInputs) -> np.ndarray:
        """Softmax probabilities (n_centre, len(classes)) for the graph's centre nodes."""
        if abs(graph.cutoff - self.cutoff) > 1e-6:
            raise CrystalXError(f"graph built with a {graph.cutoff} Å cutoff, the model needs "
                                f"{self.cutoff} Å", str(self.path))
        if graph.num_nodes and graph.z.max() >= self.config["max_z"]:
            raise CrystalXError(f"atomic numbers must be below {self.config['max_z']}",
                                str(self.path))
        if graph.n_centre == 0:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        (logits,) = self.session.run(None, {"z": graph.z, "pos": graph.pos,
                                            "edge_index": graph.edge_index,
                                            "incoming": graph.incoming})
        logits = logits[:graph.n_centre]
        weights = np.exp(logits - logits.max(axis=1, keepdims=True))
        return weights / weights.sum(axis=1, keepdims=True)


    def calibrated(self, probabilities: np.ndarray) -> np.ndarray:
        """Rows of predict's probabilities (restricted and renormalised or not) as
        softmax(logits / T) over the same classes: p^(1/T), renormalised. Answers are chosen
        from the uncalibrated probabilities, for which the formula-aware choice was tuned,
        so T changes what is reported, never what is chosen."""
        if self.temperature == 1.0:
            return probabilities
        with np.errstate(divide="ignore"):
            scaled = np.exp((np.log(probabilities) - np.log(probabilities.max(axis=1, keepdims=True)))
                            / self.temperature)
        return scaled / scaled.sum(axis=1, keepdims=True)


def _session_options() -> onnxruntime.SessionOptions:
    """CRYSTALX_THREADS caps onnxruntime's threads: batch workers use one each, so N workers
    on N cores do not fight over them (small graphs also run faster on one thread)."""
    options = onnxruntime.SessionOptions()
    threads = os.environ.get("CRYSTALX_THREADS", "").strip()
    if threads.isdigit() and int(threads) > 0:
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
    return options


def _read_sidecar(path: Path) -> tuple[dict, float]:
    """The model config and the calibration temperature (1 without one) from NAME.json,
    checked for what the runtime relies on."""
    try:
        sidecar = json.loads(path.read_text())
        config = sidecar["config"]
        if len(config["classes"]) < 2 or float(config["cutoff"]) <= 0 or int(config["max_z"]) < 1:
            raise ValueError("classes, cutoff or max_z out of range")
        temperature = float(sidecar.get("calibration", {}).get("temperature", 1.0))
        if not 0.05 <= temperature <= 20.0:  # NaN fails too
            raise ValueError(f"calibration temperature {temperature} out of range")
    except FileNotFoundError:
        raise CrystalXError("model sidecar not found (it holds the class list)", str(path)) from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CrystalXError(f"unreadable model sidecar ({error})", str(path)) from None
    return config, temperature
