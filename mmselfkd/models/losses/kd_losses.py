"""Distillation loss formulas shared by the methods.

``kl_divergence`` is the official ``DistillKL`` of all four repositories (e.g. FRSKD
``classification/distill_loss/KD.py``), ``attention_transfer`` the attention loss of FRSKD
(``classification/distill_loss/AT.py``) and FFSD (``CIFARTrainer.attention_loss``). The
functions compute in at least float32 even under autocast, and they do **not** detach the
target: callers detach teacher-side tensors explicitly where a reader sees it.
"""
import torch
import torch.nn.functional as F
from torch import Tensor


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


def bernoulli_kl(student_logits: Tensor, teacher_logits: Tensor,
                 temperature: float = 1.0) -> Tensor:
    """``T**2 * KL(Bern(sigmoid(t/T)) || Bern(sigmoid(s/T)))`` per element, float32 or wider.

    The distillation of independent sigmoid classifiers (one Bernoulli per class and anchor).
    """
    s = at_least_float32(student_logits) / temperature
    t = at_least_float32(teacher_logits) / temperature
    q = torch.sigmoid(t)
    kl = q * (F.logsigmoid(t) - F.logsigmoid(s)) + (1 - q) * (F.logsigmoid(-t) - F.logsigmoid(-s))
    return kl * temperature**2
