"""Per-element feed-forward networks for K committee members, evaluated in one batched pass.

The weights of all members are stacked: layer l of element t holds ``W (K, in, out)`` and
``b (K, 1, out)``.  The first layer shares its input across members, so it is one matrix
product ``(n, F) @ (F, K·H)``; later layers use ``torch.baddbmm`` over the member axis.
"""

from __future__ import annotations

import math
from typing import Literal, Sequence

import torch

Activation = Literal["tanh", "softplus", "silu"]

_ACTIVATIONS = {"tanh": torch.tanh, "softplus": torch.nn.functional.softplus,
                "silu": torch.nn.functional.silu}


def _activation_and_slope(name: str, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """act(z) and act'(z) (no autograd)."""
    if name == "tanh":
        y = torch.tanh(z)
        return y, 1.0 - y * y
    sig = torch.sigmoid(z)
    if name == "softplus":
        return torch.nn.functional.softplus(z), sig
    return z * sig, sig * (1.0 + z * (1.0 - sig))


class CommitteeNetworks(torch.nn.Module):
    """Atomic energies of every member: ``forward(x, species) -> (K, N)`` (dimensionless)."""

    def __init__(self, elements: Sequence[str], n_features: int, hidden: Sequence[int],
                 activation: Activation, members: int, seeds: Sequence[int] | None = None,
                 dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}")
        self.elements = tuple(elements)
        self.widths = (int(n_features), *[int(h) for h in hidden], 1)
        self.activation = activation
        self.members = int(members)
        seeds = list(seeds) if seeds is not None else list(range(members))
        self.params = torch.nn.ParameterDict()
        for element in self.elements:
            for layer, (n_in, n_out) in enumerate(zip(self.widths[:-1], self.widths[1:])):
                w, b = _init_layer(n_in, n_out, seeds, element, layer, dtype)
                self.params[f"{element}_{layer}_weight"] = torch.nn.Parameter(w)
                self.params[f"{element}_{layer}_bias"] = torch.nn.Parameter(b)

    @property
    def n_weights_per_member(self) -> int:
        """Weights and biases of one member's networks, summed over elements."""
        per = sum(i * o + o for i, o in zip(self.widths[:-1], self.widths[1:]))
        return per * len(self.elements)

    def element_forward(self, element: str, x: torch.Tensor) -> torch.Tensor:
        """(n, F) inputs of one element → (K, n) outputs of every member."""
        act = _ACTIVATIONS[self.activation]
        n_layers = len(self.widths) - 1
        w0 = self.params[f"{element}_0_weight"]
        k, f, h = w0.shape
        out = (x @ w0.permute(1, 0, 2).reshape(f, k * h)).view(-1, k, h).transpose(0, 1)
        out = out + self.params[f"{element}_0_bias"]
        for layer in range(1, n_layers):
            out = torch.baddbmm(self.params[f"{element}_{layer}_bias"], act(out),
                                self.params[f"{element}_{layer}_weight"])
        return out.squeeze(-1)

    def element_forward_members(self, element: str, x: torch.Tensor) -> torch.Tensor:
        """(K, n, F) per-member inputs of one element → (K, n) outputs."""
        act = _ACTIVATIONS[self.activation]
        n_layers = len(self.widths) - 1
        out = x
        for layer in range(n_layers):
            if layer:
                out = act(out)
            out = torch.baddbmm(self.params[f"{element}_{layer}_bias"], out,
                                self.params[f"{element}_{layer}_weight"])
        return out.squeeze(-1)

    def forward_members(self, x: torch.Tensor, species: torch.Tensor) -> torch.Tensor:
        """(K, N, F) per-member inputs → (K, N) atomic outputs."""
        out = x.new_zeros((self.members, x.shape[1]))
        for s, element in enumerate(self.elements):
            idx = torch.nonzero(species == s).squeeze(1)
            if idx.numel():
                out = out.index_copy(1, idx, self.element_forward_members(element, x[:, idx]))
        return out

    def element_value_and_gradient(self, element: str,
                                   x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(n, F) inputs of one element → outputs (K, n) and their input gradients (K, n, F)
        of every member, by a hand-written backward pass (no autograd graph)."""
        n_layers = len(self.widths) - 1
        w0 = self.params[f"{element}_0_weight"]
        k, f, h = w0.shape
        z = (x @ w0.permute(1, 0, 2).reshape(f, k * h)).view(-1, k, h).transpose(0, 1)
        z = z + self.params[f"{element}_0_bias"]
        slopes = []
        for layer in range(1, n_layers):
            y, slope = _activation_and_slope(self.activation, z)
            slopes.append(slope)
            z = torch.baddbmm(self.params[f"{element}_{layer}_bias"], y,
                              self.params[f"{element}_{layer}_weight"])
        grad = self.params[f"{element}_{n_layers - 1}_weight"].transpose(1, 2)   # (K, 1, H)
        grad = grad * slopes[-1] if slopes else grad.expand(k, x.shape[0], f)
        for layer in range(n_layers - 2, 0, -1):
            grad = torch.bmm(grad, self.params[f"{element}_{layer}_weight"].transpose(1, 2))
            grad = grad * slopes[layer - 1]
        if n_layers > 1:
            grad = torch.bmm(grad, w0.transpose(1, 2))
        return z.squeeze(-1), grad

    def value_and_gradient(self, x: torch.Tensor,
                           species: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, F) inputs → outputs (K, N) and input gradients (K, N, F) of every member."""
        out = x.new_empty((self.members, x.shape[0]))
        grad = x.new_empty((self.members, x.shape[0], x.shape[1]))
        for s, element in enumerate(self.elements):
            idx = torch.nonzero(species == s).squeeze(1)
            if idx.numel() == x.shape[0]:
                return self.element_value_and_gradient(element, x)
            if idx.numel():
                value, g = self.element_value_and_gradient(element, x.index_select(0, idx))
                out[:, idx] = value
                grad[:, idx] = g
        return out, grad

    def forward(self, x: torch.Tensor, species: torch.Tensor) -> torch.Tensor:
        out = x.new_zeros((self.members, x.shape[0]))
        for s, element in enumerate(self.elements):
            idx = torch.nonzero(species == s).squeeze(1)
            if idx.numel():
                out = out.index_copy(1, idx, self.element_forward(element, x[idx]))
        return out

    def select(self, members: Sequence[int]) -> None:
        """Keep only the given members (in place)."""
        keep = torch.as_tensor(list(members), dtype=torch.long)
        for name, p in self.params.items():
            self.params[name] = torch.nn.Parameter(p.detach()[keep].clone())
        self.members = len(keep)


def _init_layer(n_in: int, n_out: int, seeds: Sequence[int], element: str, layer: int,
                dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Members' weights ~ N(0, 1/n_in), zero biases; each member from its own seed."""
    ws = []
    for seed in seeds:
        g = torch.Generator().manual_seed(int(seed) * 1_000_003 + layer * 7919
                                          + sum(map(ord, element)))
        ws.append(torch.randn(n_in, n_out, generator=g, dtype=dtype) / math.sqrt(n_in))
    return torch.stack(ws), torch.zeros(len(seeds), 1, n_out, dtype=dtype)
