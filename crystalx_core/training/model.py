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
            hidden_channels=h, num_layers=config.num_layers, num_rbf=config.num_rbf,
            rbf_type="expnorm", cutoff_lower=0.0, cutoff_upper=config.cutoff,
            num_heads=config.num_heads, max_z=config.max_z, max_num_neighbors=64)
        # invariant head: scalar features plus the norms of learned vector combinations
        self.head_vec = nn.Linear(h, h, bias=False)
        self.head = MLP(2 * h, config.num_classes, h, "silu")
        nn.init.xavier_uniform_(self.head_vec.weight)
        self.head.reset_parameters()

    def forward(self, z: Tensor, pos: Tensor, edge_index: Tensor, incoming: Tensor) -> Tensor:
        x, vec = self.features(z, pos, edge_index, incoming)
        vec_norm = torch.sqrt((self.head_vec(vec) ** 2).sum(dim=1) + _EPS)
        return self.head(torch.cat([x, vec_norm], dim=1))

    def features(self, z: Tensor, pos: Tensor, edge_index: Tensor,
                 incoming: Tensor) -> tuple[Tensor, Tensor]:
        """TorchMD_ET's (x, vec) for symmetric edges (source, target) without self-loops.

        `incoming` (n, k): ids of the edges into each node, padded with e
        (crystalx_core.features.incoming_edges). TorchMD_ET's neighbour list (loop=True)
        adds a self-loop per atom with zero distance and zero direction, which the
        attention layers use and the neighbour embedding drops; so here too, with the
        self-loop messages (ids e..e+n-1) added to their own node.
        """
        rep = self.representation
        n = z.shape[0]
        nodes = torch.arange(n, dtype=edge_index.dtype, device=edge_index.device)
        src = torch.cat([edge_index[0], nodes])
        dst = torch.cat([edge_index[1], nodes])
        edge_vec = pos.index_select(0, src) - pos.index_select(0, dst)
        edge_weight = torch.linalg.vector_norm(edge_vec, dim=1)
        edge_vec = edge_vec / edge_weight.clamp(min=_EPS).unsqueeze(1)
        edge_attr = rep.distance_expansion(edge_weight)

        x = rep.embedding(z)
        x = self._neighbour_embedding(z, x, src, incoming, edge_weight, edge_attr)
        vec = torch.zeros(n, 3, x.shape[1], dtype=x.dtype, device=x.device)
        for attn in rep.attention_layers:
            dx, dvec = _attention(attn, x, vec, src, dst, incoming, edge_weight, edge_attr,
                                  edge_vec)
            x = x + dx
            vec = vec + dvec
        return rep.out_norm(x), vec

    def _neighbour_embedding(self, z: Tensor, x: Tensor, src: Tensor, incoming: Tensor,
                             edge_weight: Tensor, edge_attr: Tensor) -> Tensor:
        """NeighborEmbedding.forward on the real edges, self-loops left out.

        The stock module sums over edge_index[0] the embeddings of edge_index[1]; on a
        symmetric edge list that is the same as summing over targets those of sources.
        """
        ne = self.representation.neighbor_embedding
        e = src.shape[0] - z.shape[0]
        weight = ne.distance_proj(edge_attr[:e]) * ne.cutoff(edge_weight[:e]).unsqueeze(1)
        msg = weight * ne.embedding(z).index_select(0, src[:e])
        return ne.combine(torch.cat([x, _gather_sum(msg, incoming)], dim=1))


def _attention(attn: EquivariantMultiHeadAttention, x: Tensor, vec: Tensor, src: Tensor,
               dst: Tensor, incoming: Tensor, r_ij: Tensor, f_ij: Tensor,
               d_ij: Tensor) -> tuple[Tensor, Tensor]:
    """EquivariantMultiHeadAttention.forward with the scatter replaced by `_gather_sum`;
    the last n entries of the edge tensors are the self-loops."""
    n = x.shape[0]
    heads, head_dim, hidden = attn.num_heads, attn.head_dim, attn.hidden_channels
    x = attn.layernorm(x)
    q = attn.q_proj(x).reshape(n, heads, head_dim)
    k = attn.k_proj(x).reshape(n, heads, head_dim)
    v = attn.v_proj(x).reshape(n, heads, head_dim * 3)
    vec1, vec2, vec3 = torch.split(attn.vec_proj(vec), hidden, dim=-1)
    vec = vec.reshape(n, 3, heads, head_dim)
    vec_dot = (vec1 * vec2).sum(dim=1)
    dk = attn.act(attn.dk_proj(f_ij)).reshape(-1, heads, head_dim)
    dv = attn.act(attn.dv_proj(f_ij)).reshape(-1, heads, head_dim * 3)

    msg_x, msg_vec = attn.message(q.index_select(0, dst), k.index_select(0, src),
                                  v.index_select(0, src), vec.index_select(0, src),
                                  dk, dv, r_ij, d_ij)
    e = src.shape[0] - n
    x = (_gather_sum(msg_x[:e], incoming) + msg_x[e:]).reshape(n, hidden)
    vec = (_gather_sum(msg_vec[:e], incoming) + msg_vec[e:]).reshape(n, 3, hidden)

    o1, o2, o3 = torch.split(attn.o_proj(x), hidden, dim=1)
    return vec_dot * o2 + o3, vec3 * o1.unsqueeze(1) + vec


def _gather_sum(messages: Tensor, incoming: Tensor) -> Tensor:
    """out[i] = sum of messages[incoming[i]]; the padding id e picks a row of zeros."""
    padded = torch.cat([messages, messages.new_zeros((1,) + messages.shape[1:])])
    picked = padded.index_select(0, incoming.reshape(-1))
    return picked.reshape(incoming.shape + messages.shape[1:]).sum(dim=1)
