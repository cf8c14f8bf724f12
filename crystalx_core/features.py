"""Model inputs from a Structure: the asymmetric-unit sites plus their symmetry context.

The network sees a finite cluster, not a periodic crystal: the sites we predict come
first ("centres"), followed by every symmetry image of any site that lies within a
context radius of a centre ("context"; the cutoff unless told otherwise). Edges join every pair of
nodes closer than the cutoff,
context–context pairs included, so that the second and later message-passing layers see
the context atoms' own surroundings as far as the cluster reaches. With the images as
explicit nodes the network needs nothing but positions and an edge list (plus the edges
regrouped per target node), which keeps the exported ONNX graph free of periodic
bookkeeping.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from crystalx_core.errors import CrystalXError
from crystalx_core.geometry import SAME_POSITION, identity_operator, neighbours
from crystalx_core.structure import Structure

DEFAULT_CUTOFF = 5.0  # Å, the model's radial cutoff (CrystalX paper)
MAX_Z = 100  # size of the element embedding: guesses must be below this


@dataclass(frozen=True)
class GraphInputs:
    """One cluster: nodes [0, n_centre) are the structure's sites in order, the rest images."""

    z: np.ndarray  # (n,) int64 element guess as atomic number, 0 = unknown
    pos: np.ndarray  # (n, 3) float32 Cartesian Å
    edge_index: np.ndarray  # (2, e) int64 (source, target), both directions, no self-loops
    incoming: np.ndarray  # (n, k) int64 ids of the edges into each node, padded with e
    site: np.ndarray  # (n,) int64 index of the site each node is (an image of)
    n_centre: int
    cutoff: float  # Å the edges were built with; a model must have been trained with it

    @property
    def num_nodes(self) -> int:
        return len(self.z)

    @property
    def num_edges(self) -> int:
        return self.edge_index.shape[1]


def combined_tokens(z: np.ndarray, extra: np.ndarray) -> np.ndarray:
    """Input tokens that carry one more small number with the element: Z + MAX_Z × extra.

    The hydrogen model gets the rule-based H count (0..4), so it starts from the rules'
    answer and learns where they fail (water, H bonds, strained rings) instead of
    relearning bond lengths; the heavy model gets the peak-height bin (height_bins), which
    separates C, N and O far better than the height rank in the baseline's guess."""
    return np.asarray(z, dtype=np.int64) + MAX_Z * np.asarray(extra, dtype=np.int64)


# Edges between the height bins, as peak height over the reference height (height_bins).
HEIGHT_EDGES = (0.45, 0.7, 0.85, 0.95, 1.05, 1.2, 1.5, 2.5)
HEIGHT_BINS = len(HEIGHT_EDGES) + 2  # bin 0 = no height (an atom, not a peak)


def height_reference(heights: list[float | None], expected_atoms: float) -> float | None:
    """The median of the `expected_atoms` highest positive peaks (the typical atom: C in an
    organic structure), which height_bins measures each peak against; None without a peak."""
    values = np.array([np.nan if h is None else h for h in heights], dtype=float)
    known = values[np.isfinite(values) & (values > 0)]
    if not known.size:
        return None
    top = np.sort(known)[::-1][: max(1, min(known.size, int(round(expected_atoms))))]
    return float(np.median(top))


def height_bins(heights: list[float | None], expected_atoms: float) -> np.ndarray:
    """Bin 1..len(HEIGHT_EDGES)+1 of each peak's height relative to height_reference, 0 where
    there is no height. Relative, so the map's scale does not matter."""
    values = np.array([np.nan if h is None else h for h in heights], dtype=float)
    known = np.isfinite(values) & (values > 0)
    bins = np.zeros(len(heights), dtype=np.int64)
    reference = height_reference(heights, expected_atoms)
    if reference is None:
        return bins
    bins[known] = 1 + np.searchsorted(HEIGHT_EDGES, values[known] / reference)
    return bins


def radius_edges(pos: np.ndarray, cutoff: float) -> np.ndarray:
    """(2, e) every ordered pair i != j with |pos_i - pos_j| < cutoff, sorted by target.

    Strictly below the cutoff, as torchmd-net's own neighbour list: the network's vector
    messages are not damped to zero at the cutoff, so a pair exactly there would count.
    """
    pairs = cKDTree(pos).query_pairs(cutoff, output_type="ndarray")
    pairs = pairs[np.linalg.norm(pos[pairs[:, 0]] - pos[pairs[:, 1]], axis=1) < cutoff]
    edges = np.concatenate([pairs, pairs[:, ::-1]]).T.astype(np.int64)
    return edges[:, np.lexsort((edges[0], edges[1]))]


def incoming_edges(edge_index: np.ndarray, n: int) -> np.ndarray:
    """(n, k) ids of the edges ending at each node, k the largest in-degree, padded with e.

    The model sums messages with a gather over this table rather than a scatter (see
    crystalx_core.training.atoms.model for why). k is at least 1: ONNX Reshape reads a 0 in a
    shape as "keep this dimension", which breaks an empty table.
    """
    target = edge_index[1]
    order = np.argsort(target, kind="stable")
    degree = np.bincount(target, minlength=n)
    first = np.cumsum(degree) - degree
    table = np.full((n, max(int(degree.max(initial=0)), 1)), len(target), dtype=np.int64)
    table[target[order], np.arange(len(target)) - first[target[order]]] = order
    return table


def _within_one_alternative(
    edge_index: np.ndarray, structure: Structure, node_site: np.ndarray, context_op: np.ndarray
) -> np.ndarray:
    """The edges without those between two alternatives of a disordered model (PART 1 and
    PART 2 atoms never coexist; SHELXL never bonds them, geometry.may_bond): each atom sees
    an ordered surrounding, as in training. PART 0 atoms see every alternative. A negative
    PART is disordered about a special position: its images turned by another operator
    (`context_op` made each context node) are the other orientations, which never coexist
    with it either (a toluene at a quarter occupancy saw three overlapping copies of itself
    and was called N). Unlike geometry.may_bond, an image by a lattice or centring
    translation alone is not turned and stays."""
    part = np.array([s.part for s in structure.sites], dtype=np.int64)[node_site]
    if not part.any():
        return edge_index
    a, b = part[edge_index[0]], part[edge_index[1]]
    keep = (a == 0) | (b == 0) | ((a == b) & (a > 0))
    if (part < 0).any():
        turn, unturned = _rotations(structure)
        n_centre = len(structure.sites)
        node_turn = np.concatenate([np.full(n_centre, unturned, dtype=np.int64), turn[context_op]])
        turned = node_turn[edge_index[0]] != node_turn[edge_index[1]]
        keep |= (a == b) & (a < 0) & ~turned
    return edge_index[:, keep]


def _rotations(structure: Structure) -> tuple[np.ndarray, int]:
    """For each symmetry operator the index of the first with the same rotation (operators
    that differ by a lattice or centring translation alone turn nothing), and that of x,y,z."""
    rotations = np.array([rot for rot, _ in structure.symmetry_matrices()], dtype=float)
    _, index, inverse = np.unique(
        np.round(rotations.reshape(len(rotations), 9), 6),
        axis=0,
        return_index=True,
        return_inverse=True,
    )
    first = index[inverse.reshape(-1)].astype(np.int64)
    return first, int(first[identity_operator(structure)])


def build_graph(
    structure: Structure,
    guesses: list[int],
    cutoff: float = DEFAULT_CUTOFF,
    context: float | None = None,
) -> GraphInputs:
    """The cluster for `structure` with `guesses[k]` as the element guess of site k.

    Context nodes are the images within `context` Å of a centre (default: the cutoff;
    the hydrogen model uses 3.2 Å); edges join all nodes closer than `cutoff`. Every
    image is one node however many centres see it; an image at a centre's own position
    (the identity image) is that centre.
    """
    context = cutoff if context is None else context
    n_sites = len(structure.sites)
    z_sites = np.asarray(guesses, dtype=np.int64).reshape(-1)
    if len(z_sites) != n_sites:
        raise CrystalXError(
            f"{len(z_sites)} element guesses for {n_sites} sites", structure.source or None
        )
    if np.any((z_sites < 0) | (z_sites >= MAX_Z)):
        raise CrystalXError(
            f"element guesses must be atomic numbers 0..{MAX_Z - 1}", structure.source or None
        )
    centre_pos = structure.cartesian(structure.frac_array).reshape(-1, 3)

    contacts = [
        c for per_site in neighbours(structure, context) for c in per_site if c.distance < context
    ]
    site = np.array([c.j for c in contacts], dtype=np.int64)
    key = np.array([(c.j, c.op, *c.shift) for c in contacts], dtype=np.int64).reshape(-1, 5)
    cart = np.array([c.cart_j for c in contacts], dtype=float).reshape(-1, 3)
    is_centre = np.linalg.norm(cart - centre_pos[site], axis=1) < SAME_POSITION
    _, first = np.unique(key[~is_centre], axis=0, return_index=True)
    context_site = site[~is_centre][np.sort(first)]
    context_pos = cart[~is_centre][np.sort(first)]

    context_op = key[~is_centre][np.sort(first), 1]
    pos = np.concatenate([centre_pos, context_pos])
    node_site = np.concatenate([np.arange(n_sites), context_site]).astype(np.int64)
    edge_index = _within_one_alternative(
        radius_edges(pos, cutoff), structure, node_site, context_op
    )
    return GraphInputs(
        z=z_sites[node_site],
        pos=pos.astype(np.float32),
        edge_index=edge_index,
        incoming=incoming_edges(edge_index, len(pos)),
        site=node_site,
        n_centre=n_sites,
        cutoff=cutoff,
    )
