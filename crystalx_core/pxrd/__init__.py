"""Powder diffraction: simulated patterns from structures, measured-pattern files, and
space-group prediction (Chemical Sight Net) from a pattern."""
