"""Element choice under the formula (crystalx_core.assign.composition) and its effect on
simulated solutions of real structures."""

from functools import partial
from pathlib import Path

import numpy as np
import pytest

from crystalx_core.assign import resolve_method
from crystalx_core.assign.composition import PENALTY, constrained_choice

CLASSES = ["Q", "C", "N", "O"]
ALL = np.ones(4, dtype=bool)
C, N, O = 1, 2, 3


def _choose(probabilities, expected, weights=None, allowed=ALL):
    probabilities = np.asarray(probabilities, dtype=float)
    weights = np.ones(len(probabilities)) if weights is None else np.asarray(weights, dtype=float)
    return constrained_choice(probabilities, expected, weights, allowed).tolist()


def test_least_certain_atom_moves_to_the_element_the_formula_lacks():
    probabilities = [[0, 0.05, 0.95, 0], [0, 0.4, 0.6, 0], [0, 0.1, 0.9, 0], [0, 0.9, 0.1, 0]]
    assert np.argmax(probabilities, axis=1).tolist() == [N, N, N, C]
    assert _choose(probabilities, {C: 2, N: 2, O: 0}) == [N, C, N, C]


def test_a_confident_atom_is_not_overruled_by_the_formula():
    # flipping would cost log(0.999/0.001) ≈ 6.9 nats, more than PENALTY
    assert PENALTY < np.log(999)
    assert _choose([[0, 0.001, 0.999, 0], [0, 0.9, 0.1, 0]], {C: 2, N: 0}) == [N, C]


def test_a_site_on_a_special_position_counts_for_its_share():
    # one O on a twofold axis counts 1/2: the formula's half O is that site, not the general one
    probabilities = [[0, 0.5, 0, 0.5], [0, 0.5, 0, 0.5]]
    assert _choose(probabilities, {C: 1, O: 0.5}, weights=[1.0, 0.5]) == [C, O]


def test_peaks_may_stay_no_atom_and_disallowed_classes_are_never_chosen():
    probabilities = [[0.9, 0.1, 0, 0], [0, 0.2, 0.7, 0.1], [0.1, 0.9, 0, 0]]
    allowed = np.array([True, True, False, True])
    assert _choose(probabilities, {C: 1, O: 1}, allowed=allowed) == [0, O, C]


def test_empty_input():
    assert _choose(np.zeros((0, 4)), {C: 1}) == []


@pytest.mark.skipif(resolve_method("auto") != "model", reason="no shipped models in onnx_models/")
def test_formula_makes_shipped_model_answers_closer_to_the_truth(shared_data):
    """Simulated solutions of the held-out structures (validation split, up to 40 atoms):
    with the formula the counts match UNIT better and at least as many atoms are right."""
    from crystalx_core.assign.model import NOT_AN_ATOM, assign_model
    from crystalx_core.elements import symbol
    from crystalx_core.training.atoms.evaluate import test_structures
    from crystalx_core.training.atoms.simulate import SimulationSettings, simulate_peaks

    truths = [
        t
        for t in test_structures(Path(shared_data) / "corpus", "val")
        if sum(s.element not in ("H", "D") for s in t.sites) <= 40
    ][:20]
    assert len(truths) >= 10
    scores = {}
    for name, assign in (
        ("argmax", partial(assign_model, penalty=None)),
        ("formula", assign_model),
    ):
        rng = np.random.default_rng(3)
        right = departure = 0
        for truth in truths:
            sim = simulate_peaks(truth, SimulationSettings(), rng)
            answer = assign(sim.structure).by_index()
            predicted = [
                answer[k].element if k in answer else NOT_AN_ATOM for k in range(len(sim.targets))
            ]
            right += sum(p == symbol(z) for p, z in zip(predicted, sim.targets) if z)
            expected = sim.structure.asymmetric_unit_contents()
            departure += sum(abs(predicted.count(el) - n) for el, n in expected.items())
        scores[name] = (right, departure)
    assert scores["formula"][0] > scores["argmax"][0], scores
    assert scores["formula"][1] < scores["argmax"][1], scores


def test_h_total_moves_the_least_unlikely_count():
    """UNIT asks for one H more than the most likely counts give: the site whose next count
    costs least takes it; the others keep theirs."""
    from crystalx_core.assign.composition import constrained_total

    probabilities = np.array([[0.9, 0.1, 0], [0.7, 0.3, 0], [0, 1.0, 0], [0, 0.05, 0.95]])
    values = np.array([0, 1, 2])
    weights = np.ones(4)
    assert constrained_total(probabilities, values, 3.0, weights).tolist() == [
        0,
        0,
        1,
        2,
    ]  # as likely
    assert constrained_total(probabilities, values, 4.0, weights).tolist() == [0, 1, 1, 2]
    # no shortfall penalty (UNIT only an upper bound): the most likely counts stand
    assert constrained_total(probabilities, values, 9.0, weights, shortfall=False).tolist() == [
        0,
        0,
        1,
        2,
    ]


def test_a_move_costs_its_log_probability_and_the_count_penalties_it_changes():
    """The N the formula has one too many of gives up more probability than the C, but moving
    it to the missing O settles two counts: the cheaper move under the fit's objective."""
    from crystalx_core.assign.composition import move_costs

    probabilities = np.array([[0, 0.002, 0.996, 0.001], [0, 0.79, 0.071, 0.094]])
    choice = np.array([N, C])
    sites = np.array([0, 1])
    plain = move_costs(probabilities, choice, sites, O)
    assert plain.argmin() == 1  # by probability alone the C goes
    fitted = move_costs(
        probabilities,
        choice,
        sites,
        O,
        counted={C: 1, N: 0, O: 1},
        weights=np.ones(2),
        penalty=PENALTY,
    )
    assert np.allclose(fitted, plain - 2 * PENALTY * np.array([1, 0]))
    assert fitted.argmin() == 0


def _objective(probabilities, choice, counted, weights, penalty, shortfall):
    """constrained_choice's objective, written out: Σ log p − penalty · Σ deviation."""
    total = np.log(probabilities[np.arange(len(choice)), choice]).sum()
    for k, expected in counted.items():
        excess = weights[choice == k].sum() - expected
        total -= penalty * (abs(excess) if shortfall else max(excess, 0.0))
    return total


@pytest.mark.parametrize("shortfall", [True, False])
def test_move_costs_match_the_objective_recomputed_by_brute_force(shortfall):
    """move_costs against constrained_choice's objective written out (Σ log p − penalty · Σ
    deviation of the counted classes) before and after each single move: fractional weights,
    classes UNIT does not count, sites already of the new class."""
    from crystalx_core.assign.composition import move_costs

    rng = np.random.default_rng(5)
    for _ in range(50):
        sites, classes = 7, 5
        probabilities = rng.uniform(0.01, 1.0, (sites, classes))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        choice = rng.integers(0, classes, sites)
        weights = rng.choice([0.25, 0.5, 1.0], sites)
        counted = {int(k): float(rng.integers(0, 4)) for k in rng.choice(classes, 3, False)}
        penalty = float(rng.uniform(0.5, 5.0))
        new = int(rng.integers(0, classes))

        every = np.arange(sites)
        costs = move_costs(probabilities, choice, every, new, counted, weights, penalty, shortfall)
        for k in every:
            moved = choice.copy()
            moved[k] = new
            before = _objective(probabilities, choice, counted, weights, penalty, shortfall)
            after = _objective(probabilities, moved, counted, weights, penalty, shortfall)
            assert costs[k] == pytest.approx(before - after)


def test_move_costs_weigh_each_site_once_without_weights():
    from crystalx_core.assign.composition import move_costs

    probabilities = np.array([[0, 0.002, 0.996, 0.002], [0, 0.79, 0.117, 0.094]])
    args = (probabilities, np.array([N, C]), np.array([0, 1]), O, {C: 1, N: 0, O: 1})
    assert np.allclose(move_costs(*args, penalty=PENALTY), move_costs(*args, np.ones(2), PENALTY))
