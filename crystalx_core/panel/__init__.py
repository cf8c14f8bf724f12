"""The Qt side panel (extra `panel`): per-atom probabilities in their own process, beside Olex2."""
