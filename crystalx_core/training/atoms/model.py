"""Per-atom classifier: torchmd-net's equivariant transformer with an invariant head.

The representation is a stock `TorchMD_ET`, so its weights and state_dict keys are the
library's. Its own forward cannot be exported to ONNX (Warp custom-op neighbour list,
`.item()` in the scatter, branches on data), so `AtomClassifier.forward` runs the same
submodules on an edge list given as input (see crystalx_core.features).

Messages are summed per target by a gather over `incoming`, each node's incoming edge ids
padded to a common width, not by a scatter: onnxruntime's CPU ScatterND(reduction=add)
races when indices repeat and several threads run (microsoft/onnxruntime#18048; off by
0.04 here), ScatterElements is correct but spent 95 % of the run time, and the TorchScript
exporter turns index_add into a ScatterND that drops repeated indices.
tests/test_model_export.py checks this forward against the stock one.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import Tensor, nn
from torchmdnet.models.torchmd_et import EquivariantMultiHeadAttention, TorchMD_ET
from torchmdnet.models.utils import MLP

# Floors a norm so that a zero vector (self-loop, atom without neighbours) gives a zero
# direction and a finite gradient instead of NaN.
_EPS = 1e-8


@dataclass
class ModelConfig:
    """Hyper-parameters and output classes; saved as JSON next to the weights."""

    classes: list[str]  # output class k is classes[k]
    hidden_channels: int = 128
    num_layers: int = 4
    num_rbf: int = 32
    cutoff: float = 5.0
    context: float = 3.2  # Å: symmetry images this close to a centre become context nodes
    num_heads: int = 8
    max_z: int = 100
    rule_tokens: bool = (
        False  # input token = Z + MAX_Z × the H-count rules' answer (features.combined_tokens)
    )
    height_tokens: bool = (
        False  # input token = Z + MAX_Z × the peak-height bin (features.height_bins)
    )

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        return cls(**data)

    def save(self, path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path) -> "ModelConfig":
        return cls.from_dict(json.loads(Path(path).read_text()))


class AtomClassifier(nn.Module):
    """logits (n, num_classes) = head(TorchMD_ET(z, pos, edges)) for every node."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        if config.num_classes < 2:
            raise ValueError("a classifier needs at least two classes")
        self.config = config
        h = config.hidden_channels
        # max_num_neighbors only bounds the stock forward's own list (tests compare with
        # it): crystals have about 50 neighbours within 5 Å, more than its default 32
        self.representation = TorchMD_ET(
            hidden_channels=h,
            num_layers=config.num_layers,
            num_rbf=config.num_rbf,
            rbf_type="expnorm",
            cutoff_lower=0.0,
            cutoff_upper=config.cutoff,
            num_heads=config.num_heads,
            max_z=config.max_z,
            max_num_neighbors=64,
        )
        # invariant head: scalar features plus the norms of learned vector combinations
        self.head_vec = nn.Linear(h, h, bias=False)
        self.head = MLP(2 * h, config.num_classes, h, "silu")
        nn.init.xavier_uniform_(self.head_vec.weight)
        self.head.reset_parameters()

    def forward(self, z: Tensor, pos: Tensor, edge_index: Tensor, incoming: Tensor) -> Tensor:
        return self.classify(*self.features(z, pos, edge_index, incoming))

    def classify(self, x: Tensor, vec: Tensor) -> Tensor:
        """The head on TorchMD_ET's (x, vec), from our features or from the stock forward."""
        vec_norm = torch.sqrt((self.head_vec(vec) ** 2).sum(dim=1) + _EPS)
        return self.head(torch.cat([x, vec_norm], dim=1))

    def features(
        self, z: Tensor, pos: Tensor, edge_index: Tensor, incoming: Tensor
    ) -> tuple[Tensor, Tensor]:
        """TorchMD_ET's (x, vec) for symmetric edges (source, target) without self-loops.

        `incoming` (n, k): ids of the edges into each node, padded with e
        (crystalx_core.features.incoming_edges). Edge e is added here as a padding edge
        whose messages are exactly zero: it starts at a node n of zero features, is as
        long as the cutoff (weight 0) and has no direction, so the padded gather sums
        nothing without a zero row being appended to every message tensor.

        TorchMD_ET's neighbour list (loop=True) adds a self-loop per atom with zero
        distance and zero direction, which the attention layers use and the neighbour
        embedding drops. Its distance features are the same for every atom, so its
        message is computed per node (see _attention) rather than as n more edges.
        """
        rep = self.representation
        n = z.shape[0]
        pad = edge_index.new_full((1,), n)
        src = torch.cat([edge_index[0], pad])
        dst = torch.cat([edge_index[1], pad.new_zeros(1)])
        edge_vec = pos.index_select(0, edge_index[0]) - pos.index_select(0, edge_index[1])
        length = torch.linalg.vector_norm(edge_vec, dim=1)
        edge_vec = torch.cat(
            [edge_vec / length.clamp(min=_EPS).unsqueeze(1), edge_vec.new_zeros(1, 3)]
        )
        edge_weight = torch.cat([length, length.new_full((1,), rep.cutoff_upper)])
        edge_attr = rep.distance_expansion(edge_weight)
        loop_attr = rep.distance_expansion(edge_weight.new_zeros(1))  # (1, num_rbf)

        x = rep.embedding(z)
        x = self._neighbour_embedding(z, x, src, incoming, edge_weight, edge_attr)
        vec = None  # zeros until the first layer writes it
        for attn in rep.attention_layers:
            dx, dvec = _attention(
                attn, x, vec, src, dst, incoming, edge_weight, edge_attr, edge_vec, loop_attr
            )
            x = x + dx
            vec = dvec if vec is None else vec + dvec
        return rep.out_norm(x), vec

    def _neighbour_embedding(
        self,
        z: Tensor,
        x: Tensor,
        src: Tensor,
        incoming: Tensor,
        edge_weight: Tensor,
        edge_attr: Tensor,
    ) -> Tensor:
        """NeighborEmbedding.forward (which drops self-loops).

        The stock module sums over edge_index[0] the embeddings of edge_index[1]; on a
        symmetric edge list that is the same as summing over targets those of sources.
        """
        ne = self.representation.neighbor_embedding
        weight = ne.distance_proj(edge_attr) * ne.cutoff(edge_weight).unsqueeze(1)
        msg = weight * _with_zero_row(ne.embedding(z)).index_select(0, src)
        return ne.combine(torch.cat([x, _gather_sum(msg, incoming)], dim=1))


def _value_parts(
    linear: nn.Linear, heads: int, head_dim: int
) -> list[tuple[Tensor, Tensor | None]]:
    """(weight, bias) of the three value parts (x, vec1, vec2) of v_proj or dv_proj.

    The stock layer's output per head is [x | vec1 | vec2] (head_dim each), split after the
    product; projecting the parts separately gives the same numbers without the split,
    which ONNX Runtime copies and PyTorch does not.
    """
    weight = linear.weight.reshape(heads, 3, head_dim, -1)
    bias = None if linear.bias is None else linear.bias.reshape(heads, 3, head_dim)
    return [
        (
            weight[:, part].reshape(heads * head_dim, -1),
            None if bias is None else bias[:, part].reshape(-1),
        )
        for part in range(3)
    ]


def _attention(
    attn: EquivariantMultiHeadAttention,
    x: Tensor,
    vec: Tensor | None,
    src: Tensor,
    dst: Tensor,
    incoming: Tensor,
    r_ij: Tensor,
    f_ij: Tensor,
    d_ij: Tensor,
    f_loop: Tensor,
) -> tuple[Tensor, Tensor]:
    """EquivariantMultiHeadAttention.forward with the scatter replaced by `_gather_sum`.

    Real edges carry per-edge messages. The self-loop (r = 0, zero direction) of node i
    sends it x_i-message v_x,i · dv_x(0) · act(q_i · k_i · dk(0)) · cutoff(0) and
    vec-message vec_i · v_1,i · dv_1(0), with dk(0), dv(0) one row for all nodes.
    `vec` None stands for zeros (the first layer): every term with a factor vec is left out.
    """
    n = x.shape[0]
    heads, head_dim, hidden = attn.num_heads, attn.head_dim, attn.hidden_channels
    x = attn.layernorm(x)
    q = attn.q_proj(x).reshape(n, heads, head_dim)
    k = _with_zero_row(attn.k_proj(x)).reshape(n + 1, heads, head_dim)
    used = range(3) if vec is not None else (0, 2)  # vec1 multiplies vec
    v_parts = {
        part: _with_zero_row(nn.functional.linear(x, w, b)).reshape(n + 1, heads, head_dim)
        for part, (w, b) in enumerate(_value_parts(attn.v_proj, heads, head_dim))
        if part in used
    }
    dv_parts = {
        part: _edge_parts(attn, w, b, f_ij, f_loop, heads, head_dim)
        for part, (w, b) in enumerate(_value_parts(attn.dv_proj, heads, head_dim))
        if part in used
    }
    dk, dk_loop = _edge_parts(
        attn, attn.dk_proj.weight, attn.dk_proj.bias, f_ij, f_loop, heads, head_dim
    )

    # real edges: TorchMD_ET's message() on gathered node features
    weight = attn.attn_activation(
        (q.index_select(0, dst) * k.index_select(0, src) * dk).sum(dim=-1)
    )
    weight = weight * attn.cutoff(r_ij).unsqueeze(1)
    (dv_x, dv_x_loop), (dv_2, _) = dv_parts[0], dv_parts[2]
    v_x, v_2 = v_parts[0], v_parts[2]
    msg_x = v_x.index_select(0, src) * dv_x * _per_channel(weight, head_dim)
    # vec-messages: the term along the edge direction d_ij summed as a product per node,
    # (3, k) directions × (k, hidden) weights, not as k outer products materialised per edge
    along = (v_2.index_select(0, src) * dv_2).reshape(-1, hidden)
    summed = torch.matmul(_gather(d_ij, incoming).transpose(1, 2), _gather(along, incoming))
    if vec is not None:
        (dv_1, dv_1_loop), v_1 = dv_parts[1], v_parts[1]
        vec_heads = vec.reshape(n, 3, heads, head_dim)
        msg_vec = _with_zero_row(vec_heads).index_select(0, src) * (
            v_1.index_select(0, src) * dv_1
        ).unsqueeze(1)
        summed = summed + _gather_sum(msg_vec, incoming).reshape(n, 3, hidden)
    # self-loops
    v_x, k = v_x[:n], k[:n]
    loop_weight = attn.attn_activation((q * k * dk_loop).sum(dim=-1))
    loop_weight = loop_weight * attn.cutoff(r_ij.new_zeros(1))
    x = (
        _gather_sum(msg_x, incoming) + v_x * dv_x_loop * _per_channel(loop_weight, head_dim)
    ).reshape(n, hidden)
    o1, o2, o3 = torch.split(attn.o_proj(x), hidden, dim=1)
    if vec is None:
        return o3, summed
    summed = summed + (vec_heads * (v_1[:n] * dv_1_loop).unsqueeze(1)).reshape(n, 3, hidden)
    vec1, vec2, vec3 = torch.split(attn.vec_proj(vec), hidden, dim=-1)
    vec_dot = (vec1 * vec2).sum(dim=1)
    return vec_dot * o2 + o3, vec3 * o1.unsqueeze(1) + summed


def _per_channel(weight: Tensor, head_dim: int) -> Tensor:
    """(m, heads) → (m, heads, head_dim), each head's weight repeated over its channels.

    A product with a constant 0/1 matrix rather than a broadcast: ONNX Runtime's CPU Mul
    broadcasting over the last axis ran 5× slower than the product and a plain Mul together.
    """
    heads = weight.shape[1]
    eye = torch.eye(heads, dtype=weight.dtype, device=weight.device)
    repeat = eye.unsqueeze(2).expand(heads, heads, head_dim).reshape(heads, heads * head_dim)
    return (weight @ repeat).reshape(-1, heads, head_dim)


def _edge_parts(
    attn: EquivariantMultiHeadAttention,
    weight: Tensor,
    bias: Tensor | None,
    f_ij: Tensor,
    f_loop: Tensor,
    heads: int,
    head_dim: int,
) -> tuple[Tensor, Tensor]:
    """act(f · Wᵀ + b) per edge (e, heads, head_dim) and for the self-loop (1, heads, head_dim)."""
    edge = attn.act(nn.functional.linear(f_ij, weight, bias)).reshape(-1, heads, head_dim)
    loop = attn.act(nn.functional.linear(f_loop, weight, bias)).reshape(1, heads, head_dim)
    return edge, loop


def _with_zero_row(features: Tensor) -> Tensor:
    """features with a row of zeros appended: node n, where the padding edge starts."""
    return torch.cat([features, features.new_zeros((1,) + features.shape[1:])])


def _gather(edge_values: Tensor, incoming: Tensor) -> Tensor:
    """(n, k, ...) values of the edges into each node; the padding id e is the zero-message edge."""
    picked = edge_values.index_select(0, incoming.reshape(-1))
    return picked.reshape(incoming.shape + edge_values.shape[1:])


def _gather_sum(messages: Tensor, incoming: Tensor) -> Tensor:
    """out[i] = sum of messages[incoming[i]]."""
    return _gather(messages, incoming).sum(dim=1)
