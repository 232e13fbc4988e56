"""FFSD's diversity loss and attention-shifted target (spec section 4.3).

Both build on the same "shifted attention" of a reference map: with ``a`` the flattened
attention of the reference, ``n = ||a||_2`` (per sample, *un-normalised*), ``a_hat = N(a)`` and
``theta`` the ``k``-th smallest value of ``a_hat`` (``k = floor(H*W/3)``), the shifted
attention is ``(n/2 - a_hat) * sign(a_hat - theta) + n/2``: it keeps ``a_hat`` below the
threshold, mirrors the larger values to ``n - a_hat`` and sets the threshold position itself
to ``n/2``. The official code mixes the
normalised map with the raw norm ``n`` (spec 4.7 item 3); we keep that scale on purpose.

Like the shared functions in :mod:`kd_losses`, these compute in at least float32 (half and
bfloat16 inputs are upcast, float64 stays float64) and never detach: the caller detaches the
reference (student 1's feature) where a reader sees it.
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .kd_losses import at_least_float32, attention_map


def _shifted_attention(reference_attention: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """Return ``(shifted, a_hat, n)`` for a ``(N, 1, H, W)`` (or ``(N, D)``) attention map."""
    flat = at_least_float32(reference_attention).flatten(1)
    norm = flat.norm(dim=1, keepdim=True)
    normalized = F.normalize(flat, dim=1)
    k = flat.shape[1] // 3
    if k < 1:
        raise ValueError(f'FFSD attention shift needs at least 3 spatial positions, got '
                         f'{flat.shape[1]}')
    threshold = normalized.kthvalue(k, dim=1, keepdim=True).values
    shifted = (norm / 2 - normalized) * torch.sign(normalized - threshold) + norm / 2
    return shifted, normalized, norm


def diversity_loss(attention: Tensor, reference_attention: Tensor) -> Tensor:
    """``Div(x, y) = mean((N(x) - shift(y))**2)`` (official ``diversity_loss``).

    Args:
        attention: attention map ``A(F)`` of the student being diversified, ``(N, 1, H, W)``.
        reference_attention: attention map of the reference student (detach it).
    """
    if attention.shape != reference_attention.shape:
        raise ValueError(f'diversity_loss needs attention maps of equal shape, got '
                         f'{tuple(attention.shape)} and {tuple(reference_attention.shape)}')
    target, _, _ = _shifted_attention(reference_attention)
    prediction = F.normalize(at_least_float32(attention).flatten(1), dim=1)
    return (prediction - target).pow(2).mean()


def attention_shifted_feature(feature: Tensor) -> Tensor:
    """``Shift(F)`` (official ``diversity_target``): ``F`` moved so that its attention shifts.

    The per-position change of the normalised attention, scaled by ``n / C``, is added to every
    channel of ``F``; FFSD feeds the result to student 2's self-distillation module.

    Args:
        feature: ``(N, C, H, W)`` feature map (detach it).
    """
    shifted, normalized, norm = _shifted_attention(attention_map(feature))
    offset = ((shifted - normalized) * norm / feature.shape[1]).view(
        feature.shape[0], 1, *feature.shape[2:])
    return at_least_float32(feature) + offset
