"""The element (heavy) and hydrogen-count models: data sets from real structures and simulated
maps, torchmd-net training, ONNX export, evaluation and calibration of what `crystalx assign`
runs."""
