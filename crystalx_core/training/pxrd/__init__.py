"""The powder-pattern space-group models that `crystalx pxrd` runs: simulated pattern sets
(random crystals, the corpus, CoRE MOFs), training, ONNX export, evaluation and the class prior."""
