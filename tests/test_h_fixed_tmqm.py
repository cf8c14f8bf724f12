"""benchmarks/h_fixed_tmqm.py: h_fixed's right and wrong answers on tmQM-format molecules."""

import lzma

import numpy as np

from tests.conftest import benchmark_script

T = [np.asarray(d) / np.sqrt(3) for d in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1))]


def _entry(code: str, atoms) -> str:
    """One multi-xyz entry as tmqm.xyz.xz writes it (count, 'CSD_code = X | q = 0', rows)."""
    rows = "".join(f"{e} {x:.4f} {y:.4f} {z:.4f}\n" for e, (x, y, z) in atoms)
    return f"{len(atoms)}\nCSD_code = {code} | q = 0 | S = 0\n{rows}"


def test_the_scan_counts_settled_borons_right_and_wrong(tmp_path, capsys):
    """An amine-borane H3B-NMe3 published with its three H is right; a pyramidal BC3 published
    without H (h_fixed says BH) is wrong; a flat BC3 and an Ir-B boryl are not settled."""
    b_n = [("B", (0, 0, 0)), ("N", tuple(1.60 * T[0]))]
    b_n += [("H", tuple(1.20 * t)) for t in T[1:]]
    b_n += [("C", tuple(1.60 * T[0] + 1.47 * t)) for t in (-T[1], -T[2], -T[3])]
    pyramidal = [("B", (0, 0, 0))] + [("C", tuple(1.62 * t)) for t in T[:3]]
    flat = [("B", (0, 0, 0))] + [
        ("C", (1.57 * np.cos(a), 1.57 * np.sin(a), 0)) for a in np.radians([0, 120, 240])
    ]
    boryl = [
        ("B", (0, 0, 0)),
        ("Ir", (-2.05, 0, 0)),
        ("O", (0.77, 1.14, 0)),
        ("O", (0.77, -1.14, 0)),
    ]
    path = tmp_path / "tmqm.xyz.xz"
    with lzma.open(path, "wt") as stream:
        for code, atoms in (("AB", b_n), ("PY", pyramidal), ("FL", flat), ("IR", boryl)):
            stream.write(_entry(code, atoms))
    script = benchmark_script("h_fixed_tmqm")
    tally, wrong = script.scan(path)
    assert dict(tally) == {(1, "right"): 1, (3, "wrong"): 1}
    assert wrong == ["PY B1: settled 1, published 0 [C:1.62 C:1.62 C:1.62]"]
    assert script.main([str(path)]) == 0
    assert "settled: 2, right 1, wrong 1 (50.00 %)" in capsys.readouterr().out


def test_a_missing_file_is_one_line(tmp_path, capsys):
    assert benchmark_script("h_fixed_tmqm").main([str(tmp_path / "none.xyz.xz")]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
