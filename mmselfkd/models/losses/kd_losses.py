"""Distillation losses shared by the four methods (spec section 0).

Each loss exists once, as a function and as a registered ``nn.Module`` for configs. The
functions compute in at least float32 even under autocast, and they do **not** detach the target:
callers detach teacher-side tensors explicitly where a reader sees it.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmselfkd.registry import MODELS


def at_least_float32(x: Tensor) -> Tensor:
    """Upcast half/bfloat16 (autocast) tensors; keep float32 and float64 as they are."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def kl_divergence(student_logits: Tensor, teacher_logits: Tensor, temperature: float = 1.0,
                  reduction: str = 'batchmean') -> Tensor:
    """``T**2 * KL(softmax(t/T) || softmax(s/T))`` over the class dimension (dim 1).

    Args:
        student_logits: ``(N, C)`` or dense ``(N, C, H, W)`` logits.
        teacher_logits: logits of the same shape (detach them at the call site).
        temperature: softening temperature ``T``.
        reduction: ``'batchmean'`` divides the summed KL by ``N`` (the rows passed), as
            ``F.kl_div(..., reduction='batchmean')`` in the official code; ``'pixel'``
            divides by ``N*H*W`` (FRSKD segmentation); ``'none'`` returns per-row values.
    """
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(f'kl_divergence needs logits of equal shape, got '
                         f'{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}')
    log_p_s = F.log_softmax(at_least_float32(student_logits) / temperature, dim=1)
    log_p_t = F.log_softmax(at_least_float32(teacher_logits) / temperature, dim=1)
    kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=1)
    if reduction == 'batchmean':
        loss = kl.sum() / kl.shape[0]
    elif reduction == 'pixel':
        loss = kl.mean()
    elif reduction == 'none':
        loss = kl
    else:
        raise ValueError(f"reduction must be 'batchmean', 'pixel' or 'none', got {reduction!r}")
    return loss * temperature**2


def attention_map(feature: Tensor) -> Tensor:
    """Spatial attention ``A(f) = mean_c f**2`` of a ``(N, C, H, W)`` map -> ``(N, 1, H, W)``."""
    return at_least_float32(feature).pow(2).mean(dim=1, keepdim=True)


def normalized_distance(a: Tensor, b: Tensor) -> Tensor:
    """``mean((N(a) - N(b))**2)`` with ``N`` the per-sample L2 normalisation of the flattened
    tensors (eps 1e-12); the mean runs over every element of the flattened ``(N, D)`` pair.
    """
    a = F.normalize(at_least_float32(a).flatten(1), dim=1)
    b = F.normalize(at_least_float32(b).flatten(1), dim=1)
    return (a - b).pow(2).mean()


def attention_transfer(student_feature: Tensor, teacher_feature: Tensor) -> Tensor:
    """Attention transfer between two maps of equal spatial size (channels may differ)."""
    if student_feature.shape[-2:] != teacher_feature.shape[-2:]:
        raise ValueError(f'attention_transfer needs equal spatial sizes, got '
                         f'{tuple(student_feature.shape)} and {tuple(teacher_feature.shape)}')
    return normalized_distance(attention_map(student_feature), attention_map(teacher_feature))


@MODELS.register_module()
class KLDivergence(nn.Module):
    """Registered :func:`kl_divergence` with a loss weight.

    Args:
        temperature: softening temperature. Defaults to 1.
        reduction: ``'batchmean'`` or ``'pixel'``. Defaults to ``'batchmean'``.
        loss_weight: multiplier of the loss. Defaults to 1.
    """

    def __init__(self, temperature: float = 1.0, reduction: str = 'batchmean',
                 loss_weight: float = 1.0):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'KLDivergence.temperature must be > 0, got {temperature}')
        self.temperature = temperature
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, student_logits: Tensor, teacher_logits: Tensor) -> Tensor:
        return self.loss_weight * kl_divergence(student_logits, teacher_logits,
                                                self.temperature, self.reduction)


@MODELS.register_module()
class AttentionTransferLoss(nn.Module):
    """Registered :func:`attention_transfer`, summed over pairs of feature maps.

    Args:
        loss_weight: multiplier of the summed loss. Defaults to 1.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, student_features, teacher_features) -> Tensor:
        if isinstance(student_features, Tensor):
            student_features, teacher_features = [student_features], [teacher_features]
        if len(student_features) != len(teacher_features):
            raise ValueError(f'AttentionTransferLoss got {len(student_features)} student and '
                             f'{len(teacher_features)} teacher feature maps')
        total: Optional[Tensor] = None
        for s, t in zip(student_features, teacher_features):
            term = attention_transfer(s, t)
            total = term if total is None else total + term
        return self.loss_weight * total
