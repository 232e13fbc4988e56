"""MixSKD's own loss formulas: the mixup cross-entropy and the discriminator BCE.

Official code: winycg/Self-KD-Lib at commit ede3062, ``main_mixskd_cifar.py``
(``mixup_criterion``, lines 129-130) and ``methods/adversarial.py`` (``discriminatorLoss``,
lines 20-42). Like :mod:`kd_losses`, they compute in at least float32 and never detach.
"""
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .kd_losses import at_least_float32


def mixup_cross_entropy(logits: Tensor, labels: Tensor, lam: float, perm: Tensor) -> Tensor:
    """``lam * CE(p, y) + (1 - lam) * CE(p, y[perm])`` (official ``mixup_criterion``)."""
    logits = at_least_float32(logits)
    return (lam * F.cross_entropy(logits, labels)
            + (1 - lam) * F.cross_entropy(logits, labels[perm]))


def discriminator_bce(discriminator: nn.Module, interpolated: Tensor, mixed: Tensor) -> Tensor:
    """BCE of a discriminator asked to tell interpolated (``[1, 0]``) from mixed (``[0, 1]``)
    features, after global average pooling (official ``discriminatorLoss``)."""
    features = at_least_float32(torch.cat([interpolated, mixed]))
    if features.dim() > 2:
        features = features.mean(dim=tuple(range(2, features.dim())))
    num = interpolated.shape[0]
    sides = torch.arange(2, device=features.device).repeat_interleave(num)
    target = F.one_hot(sides, 2).to(features.dtype)
    with torch.autocast(device_type=features.device.type, enabled=False):
        logits = discriminator(features.to(next(discriminator.parameters()).dtype))
        return F.binary_cross_entropy_with_logits(logits.to(target.dtype), target)
