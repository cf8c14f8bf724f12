"""The scale-free (ln d) pattern axis: peaks where Bragg's law puts them, strain as a shift."""

import numpy as np
import pytest

import crystalx_core  # noqa: F401  (cctbx before torch)
from cctbx import crystal, xray

from crystalx_core.pxrd.log_d import log_d_grid, log_d_step, resampling_matrix, to_log_d
from crystalx_core.pxrd.simulate import GRID, GRID_STOP, profile, sticks_from_xray

EDGE = 14.0  # Å: the first line (100) at 6.3° 2θ, inside the grid


def _cubic_pattern(edge: float) -> np.ndarray:
    """A primitive cubic cell with one atom: every hkl present, d = a / √(h² + k² + l²)."""
    symmetry = crystal.symmetry(
        unit_cell=(edge, edge, edge, 90, 90, 90), space_group_symbol="Pm-3m"
    )
    xs = xray.structure(crystal_symmetry=symmetry)
    xs.add_scatterer(xray.scatterer(label="Cu1", site=(0, 0, 0), u=0.01, scattering_type="Cu"))
    return profile(sticks_from_xray(xs, two_theta_max=GRID_STOP + 1.0), fwhm=0.1)


def _sum_of_three_squares(n: int) -> bool:
    """h² + k² + l² = n has a solution unless n = 4^a (8b + 7) (Legendre)."""
    while n % 4 == 0:
        n //= 4
    return n % 8 != 7


def _local_maxima(pattern: np.ndarray, floor: float) -> np.ndarray:
    inner = (
        (pattern[1:-1] > pattern[:-2]) & (pattern[1:-1] >= pattern[2:]) & (pattern[1:-1] > floor)
    )
    return np.flatnonzero(inner) + 1


def test_the_resampling_keeps_a_flat_pattern_flat_and_spans_the_grid():
    matrix = resampling_matrix(len(GRID))
    assert matrix.shape == (len(GRID), len(GRID))
    assert np.allclose(matrix.sum(axis=0), 1.0, atol=1e-5)  # each bin a mean of the pattern
    d = np.exp(log_d_grid(len(GRID))[[0, -1]])
    assert d == pytest.approx(
        [1.5406 / (2 * np.sin(np.radians(2.5))), 1.5406 / np.sqrt(2) * 1.0012], rel=2e-3
    )


def test_cubic_peaks_land_where_d_equals_a_over_the_root_of_h2_k2_l2():
    on_log_d = to_log_d(_cubic_pattern(EDGE))[0]
    axis, step = log_d_grid(len(GRID)), log_d_step(len(GRID))
    found = axis[_local_maxima(on_log_d, 0.02)]
    sums = np.array([n for n in range(1, 200) if _sum_of_three_squares(n)])
    expected = np.log(EDGE / np.sqrt(sums))
    expected = expected[expected > axis[-1]]

    def tolerance(ln_d):
        """One ln d bin plus half a 2θ step (the stored pattern's own resolution) in ln d."""
        theta = np.arcsin(1.5406 / (2 * np.exp(ln_d)))
        return step + 0.5 * np.radians(GRID[1] - GRID[0]) / (2 * np.tan(theta))

    for position in expected[:20]:  # the low-angle lines, resolved and strong
        assert np.abs(found - position).min() <= tolerance(position), np.exp(position)
    for position in found:  # and nothing where no reflection is
        assert np.abs(expected - position).min() <= tolerance(position), np.exp(position)
    # the ratios that name the lattice are fixed distances: (100) to (200) is ln 2
    first, second = (axis[np.abs(axis - np.log(EDGE / k)).argmin()] for k in (1, 2))
    assert first - second == pytest.approx(np.log(2), abs=step)


@pytest.mark.parametrize("strain", [-0.08, 0.06])
def test_an_isotropic_strain_is_a_shift_on_log_d(strain):
    step = log_d_step(len(GRID))
    plain = to_log_d(_cubic_pattern(EDGE))[0]
    strained = to_log_d(_cubic_pattern(EDGE * (1 + strain)))[0]
    shift = np.log(1 + strain) / step  # points towards small 2θ (large d) for a larger cell
    lags = np.arange(-60, 61)
    overlap = [np.dot(np.roll(plain, -lag)[70:-70], strained[70:-70]) for lag in lags]
    assert lags[int(np.argmax(overlap))] == pytest.approx(shift, abs=1.0)
    # on 2θ the same strain moves each peak by a different amount: no single shift fits
    two_theta_plain, two_theta_strained = _cubic_pattern(EDGE), _cubic_pattern(EDGE * (1 + strain))
    best = max(np.corrcoef(np.roll(two_theta_plain, lag), two_theta_strained)[0, 1] for lag in lags)
    moved = np.roll(plain, -int(round(shift)))
    assert np.corrcoef(moved[70:-70], strained[70:-70])[0, 1] > max(0.8, best + 0.2)


def test_the_strain_augmentation_makes_the_pattern_of_the_larger_cell():
    torch = pytest.importorskip("torch")
    import crystalx_core.training  # noqa: F401
    from crystalx_core.training.pxrd.augment import moved

    strain = 0.08
    pattern = torch.from_numpy(_cubic_pattern(EDGE)[None]).float()
    zero = torch.zeros(1, 1)
    augmented = moved(pattern, zero, zero, torch.full((1, 1), strain))[0].numpy()
    target = _cubic_pattern(EDGE * (1 + strain))
    got, want = GRID[_local_maxima(augmented, 0.05)], GRID[_local_maxima(target, 0.05)]
    assert len(got) > 30
    # every moved peak is one of the larger cell's (whose high-angle lines are stronger: the
    # form factor and Lorentz factor at their new angle); first order is off by 1° at 50°
    assert max(np.abs(want - g).min() for g in got) <= 0.15


def test_a_model_on_log_d_exports_with_its_resampling():
    torch = pytest.importorskip("torch")
    import crystalx_core.training  # noqa: F401
    from crystalx_core.training.pxrd.model import Axis, PxrdConfig, build_model

    patterns = np.stack([_cubic_pattern(EDGE), _cubic_pattern(EDGE * 1.1)]).astype(np.float32)
    axis = Axis("log_d", len(GRID))
    assert np.allclose(
        axis(torch.from_numpy(patterns))[:, 0].numpy(), to_log_d(patterns), atol=1e-5
    )
    both = Axis("both", len(GRID))(torch.from_numpy(patterns))
    assert both.shape == (2, 2, len(GRID)) and torch.equal(both[:, 0], torch.from_numpy(patterns))
    model = build_model(PxrdConfig(kind="cnn", channels=16, axis="log_d"))
    assert set(model.state_dict()) == set(
        build_model(PxrdConfig(kind="cnn", channels=16)).state_dict()
    )
    logits, _ = model(torch.from_numpy(patterns))
    assert logits.shape == (2, 230)
    with pytest.raises(ValueError, match="axis"):
        build_model(PxrdConfig(kind="cnn", axis="q"))


def test_a_cnn_on_log_d_exports_and_reads_back_from_onnx(tmp_path):
    """The exported graph resamples as the model does, and from_onnx rebuilds the tables from
    the sidecar's config instead of taking them for weights."""
    torch = pytest.importorskip("torch")
    import crystalx_core.training  # noqa: F401
    from crystalx_core.pxrd.predict import probabilities
    from crystalx_core.training.pxrd.export import export_onnx
    from crystalx_core.training.pxrd.from_onnx import model_from_onnx
    from crystalx_core.training.pxrd.model import PxrdConfig, build_model

    torch.manual_seed(0)
    config = PxrdConfig(kind="cnn", channels=16, axis="log_d")
    model = build_model(config).eval()
    path = export_onnx(model, config, tmp_path / "logd.onnx")  # raises if ONNX differs
    patterns = np.stack([_cubic_pattern(e) for e in np.linspace(8.0, 20.0, 12)]).astype(np.float32)
    with torch.no_grad():
        expected = torch.softmax(model(torch.from_numpy(patterns))[0], dim=1).numpy()
    assert np.abs(probabilities(patterns, path) - expected).max() < 1e-4
    back = model_from_onnx(path, patterns).eval()
    assert back.config.axis == "log_d"
    with torch.no_grad():
        again = torch.softmax(back(torch.from_numpy(patterns))[0], dim=1).numpy()
    assert np.abs(again - expected).max() < 1e-3
