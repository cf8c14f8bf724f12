"""Model inputs on real structures: the cluster is every image the periodic search sees."""

import numpy as np
import pytest

from crystalx_core.elements import atomic_number
from crystalx_core.errors import CrystalXError
from crystalx_core.features import build_graph, incoming_edges, radius_edges
from crystalx_core.geometry import SAME_POSITION, neighbours
from crystalx_core.io.cif import read_cif
from crystalx_core.structure import Site, Structure
from tests.conftest import BENCHMARK

CUTOFF = 5.0


def _model(entry: str) -> Structure:
    return read_cif(BENCHMARK / entry / "model.cif").structure


def _guesses(structure: Structure) -> list[int]:
    return [atomic_number(s.element) for s in structure.sites]


# a general P2_1/c organic, a trigonal cell, and I-43d with sites on special positions
@pytest.mark.parametrize("entry", ["FC_p21c", "FC_p31c", "SXF_I43d"])
def test_graph_invariants_on_real_structures(shared_data, entry):
    structure = _model(entry)
    guesses = _guesses(structure)
    graph = build_graph(structure, guesses, CUTOFF)
    n, src, dst = graph.num_nodes, *graph.edge_index

    assert graph.n_centre == len(structure.sites)
    assert graph.z.dtype == np.int64 and graph.pos.dtype == np.float32
    assert graph.edge_index.dtype == np.int64 and graph.incoming.dtype == np.int64
    assert np.allclose(
        graph.pos[: graph.n_centre], structure.cartesian(structure.frac_array), atol=1e-4
    )
    assert np.array_equal(graph.site[: graph.n_centre], np.arange(graph.n_centre))
    assert np.array_equal(graph.z, np.asarray(guesses)[graph.site])

    # edges: no self-loops, no repeats, symmetric, strictly within the cutoff
    assert np.all(src != dst)
    pairs = set(zip(src.tolist(), dst.tolist()))
    assert len(pairs) == graph.num_edges
    assert pairs == set(zip(dst.tolist(), src.tolist()))
    lengths = np.linalg.norm(graph.pos[src] - graph.pos[dst], axis=1)
    assert lengths.max() < CUTOFF

    # each centre sees exactly what the periodic neighbour search sees, less the atoms of
    # another alternative of a disordered part (PART 1 never meets PART 2) and, in a negative
    # PART (disorder about a special position), its images turned by symmetry
    degree = np.bincount(dst, minlength=n)
    part = [s.part for s in structure.sites]
    turned = [not np.allclose(rot, np.eye(3)) for rot, _ in structure.symmetry_matrices()]

    def one_alternative(i, c) -> bool:
        if not part[i] or not part[c.j]:
            return True
        return part[i] == part[c.j] and (part[i] > 0 or not turned[c.op])

    for i, contacts in enumerate(neighbours(structure, CUTOFF)):
        within = sorted(
            c.distance for c in contacts if c.distance < CUTOFF and one_alternative(i, c)
        )
        assert degree[i] == len(within)
        assert np.allclose(sorted(lengths[dst == i]), within, atol=1e-4)

    # every context node is an image of its site, within the cutoff of some centre
    frac = structure.fractional(graph.pos[graph.n_centre :].astype(float))
    matrices = structure.symmetry_matrices()
    for f, site in zip(frac, graph.site[graph.n_centre :]):
        images = np.array([r @ structure.sites[site].frac + t for r, t in matrices])
        offset = images - f
        offset -= np.round(offset)
        assert np.min(np.linalg.norm(offset @ structure.orthogonalisation.T, axis=1)) < 1e-3
    to_centre = np.linalg.norm(
        graph.pos[graph.n_centre :, None] - graph.pos[None, : graph.n_centre], axis=2
    )
    assert np.all(to_centre.min(axis=1) < CUTOFF)

    # an image is one node, however many centres see it
    for site in np.unique(graph.site):
        same = graph.pos[graph.site == site]
        gaps = np.linalg.norm(same[:, None] - same[None], axis=2) + np.eye(len(same)) * 99
        assert gaps.min() > SAME_POSITION


def test_negative_part_sees_none_of_its_turned_copies(shared_data):
    """SXF_I43d's toluene lies at a quarter occupancy about a 2-fold axis (PART -1): the
    copies the axis turns onto it never coexist with it, and the graph leaves them out, as it
    leaves out PART -2's overlapping molecule, yet keeps every ordered neighbour."""
    structure = _model("SXF_I43d")
    graph = build_graph(structure, _guesses(structure), CUTOFF)
    src, dst = graph.edge_index
    part = np.array([s.part for s in structure.sites])[graph.site]
    label = {s.label: k for k, s in enumerate(structure.sites)}
    methyl = label["C26"]
    seen = src[dst == methyl]
    assert set(part[seen]) == {0, -1}
    # its own molecule, untouched: of the ring, the C20 bonded to it, once
    bonded = [
        structure.sites[graph.site[k]]
        for k in seen
        if np.linalg.norm(graph.pos[k] - graph.pos[methyl]) < 1.6
    ]
    assert [s.label for s in bonded if s.element != "H"] == ["C20"]


def test_shorter_context_keeps_the_images_within_it(shared_data):
    """The hydrogen model's cluster: context within 3.2 Å, edges still up to the cutoff."""
    structure = _model("FC_sucrose")
    graph = build_graph(structure, _guesses(structure), CUTOFF, context=3.2)
    full = build_graph(structure, _guesses(structure), CUTOFF)
    assert graph.n_centre < graph.num_nodes < full.num_nodes
    to_centre = np.linalg.norm(
        graph.pos[graph.n_centre :, None] - graph.pos[None, : graph.n_centre], axis=2
    )
    assert np.all(to_centre.min(axis=1) < 3.2)
    src, dst = graph.edge_index
    lengths = np.linalg.norm(graph.pos[src] - graph.pos[dst], axis=1)
    assert lengths.max() > 3.2 and lengths.max() < CUTOFF
    for i, contacts in enumerate(neighbours(structure, 3.2)):
        assert np.sum((dst == i) & (lengths < 3.2)) == len(contacts)


def test_incoming_table_lists_each_edge_once_at_its_target(shared_data):
    structure = _model("FC_sucrose")
    graph = build_graph(structure, _guesses(structure), CUTOFF)
    table, e = graph.incoming, graph.num_edges
    assert table.shape == (graph.num_nodes, np.bincount(graph.edge_index[1]).max())
    real = table[table < e]
    assert np.array_equal(np.sort(real), np.arange(e))
    rows = np.nonzero(table < e)[0]
    assert np.array_equal(graph.edge_index[1][real], rows)


def test_incoming_table_of_unsorted_and_empty_edge_lists():
    edges = np.array([[1, 2, 0, 2], [0, 0, 2, 1]])
    assert incoming_edges(edges, 3).tolist() == [[0, 1], [3, 4], [2, 4]]
    assert incoming_edges(np.zeros((2, 0), dtype=np.int64), 2).tolist() == [[0], [0]]


def test_radius_edges_are_strictly_below_the_cutoff():
    pos = np.array([[0.0, 0, 0], [5.0, 0, 0], [0, 4.999, 0]])
    assert sorted(map(tuple, radius_edges(pos, 5.0).T.tolist())) == [(0, 2), (2, 0)]


def test_special_position_site_keeps_one_image():
    """O1 on the 2-fold axis of P2 is its own mate: one node per distinct image, no duplicate."""
    structure = Structure(
        cell=(6.0, 7.0, 8.0, 90, 90, 90),
        symops=["x,y,z", "-x,y,-z"],
        sites=[Site("O1", "O", (0.0, 0.3, 0.0)), Site("C1", "C", (0.1, 0.3, 0.1))],
    )
    graph = build_graph(structure, [8, 6], CUTOFF)
    centres = structure.cartesian(structure.frac_array)
    distinct = {(i, tuple(np.round(p, 2))) for i, p in enumerate(centres)}
    distinct |= {
        (c.j, tuple(np.round(c.cart_j, 2)))
        for contacts in neighbours(structure, CUTOFF)
        for c in contacts
        if c.distance < CUTOFF
    }
    assert graph.num_nodes == len(distinct)
    o_nodes = graph.pos[graph.site == 0]
    gaps = np.linalg.norm(o_nodes[:, None] - o_nodes[None], axis=2) + np.eye(len(o_nodes)) * 99
    assert gaps.min() > 5.9  # only lattice translations of O1 (a = 6 Å), never a copy


def test_bad_guesses_are_refused(shared_data):
    structure = _model("FC_sucrose")
    with pytest.raises(CrystalXError, match="guesses"):
        build_graph(structure, [6] * (len(structure.sites) - 1))
    with pytest.raises(CrystalXError, match="atomic numbers"):
        build_graph(structure, [120] * len(structure.sites))


def test_empty_structure_gives_empty_graph():
    graph = build_graph(Structure(cell=(10, 10, 10, 90, 90, 90), symops=["x,y,z"]), [])
    assert graph.num_nodes == 0 and graph.num_edges == 0 and graph.n_centre == 0


def test_a_thousand_site_graph_is_built(shared_data):
    """FC_p21c expanded to P1 and doubled along a: 1,024 sites. (Its speed is measured by
    benchmarks/perf_benchmark.py, not asserted here: timings on a loaded machine are noise.)"""
    structure = _model("FC_p21c")
    sites = []
    for rot, tran in structure.symmetry_matrices():
        for site in structure.sites:
            frac = (rot @ np.array(site.frac) + tran) % 1.0
            sites += [
                Site(site.label, site.element, tuple((frac + [k, 0, 0]) / [2, 1, 1]))
                for k in (0, 1)
            ]
    a, b, c, al, be, ga = structure.cell
    big = Structure(cell=(2 * a, b, c, al, be, ga), symops=["x,y,z"], sites=sites)
    assert len(sites) >= 1000
    graph = build_graph(big, [6] * len(sites))
    assert graph.n_centre == len(sites)


def test_height_bins_are_relative_to_the_typical_atom():
    from crystalx_core.features import HEIGHT_BINS, HEIGHT_EDGES, height_bins

    heights = [10.0, 10.5, 9.5, 12.0, 14.0, 30.0, 3.0, None, float("nan")]
    bins = height_bins(heights, expected_atoms=6)
    assert bins.tolist() == height_bins([None if h is None else 7 * h for h in heights], 6).tolist()
    assert bins[7] == 0 and bins[8] == 0  # no height
    assert bins[0] == 1 + sum(
        e < 10.0 / 11.25 for e in HEIGHT_EDGES
    )  # median of the six highest: 11.25
    assert bins[5] == HEIGHT_BINS - 1 and bins[6] == 1  # far above and far below
    order = [0, 1, 2, 3, 4, 5, 6]
    ranked = sorted(order, key=lambda k: heights[k])
    assert [bins[k] for k in ranked] == sorted(bins[k] for k in ranked)  # monotonic in height
    assert height_bins([None, None], 2).tolist() == [0, 0]


def test_the_height_reference_is_the_typical_atom_among_positive_peaks():
    """A peak at or below zero is no atom (height_bins gives it no bin): it does not pull the
    median of the expected atoms down."""
    from crystalx_core.features import height_reference

    assert height_reference([10.0, 12.0, -4.0, 0.0, None], expected_atoms=4) == 11.0
    assert height_reference([-1.0, None], expected_atoms=2) is None
