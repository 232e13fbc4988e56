"""Rotation self-supervision shared by HSSAKD and FRSKD+SLA (winycg/HSAKD
``train_online_kd_cifar.py`` lines 181-183, MingiJi/FRSKD ``classification/distill_loss/sla.py``
``rotation``)."""
import torch
from torch import Tensor

NUM_ROTATIONS = 4


def rotate_batch(inputs: Tensor) -> Tensor:
    """Stack the 4 rotations of every image in the official interleaved order.

    ``(B, C, H, W)`` -> ``(4B, C, H, W)`` with row ``4*b + k`` = ``rot90(x[b], k, (H, W))``,
    i.e. ``[x0r0, x0r1, x0r2, x0r3, x1r0, ...]``. Works on normalised tensors.
    """
    if inputs.dim() != 4 or inputs.shape[-1] != inputs.shape[-2]:
        raise ValueError(
            f'rotate_batch needs square (B, C, H, W) inputs, got {tuple(inputs.shape)}')
    rotated = torch.stack([torch.rot90(inputs, k, dims=(2, 3)) for k in range(NUM_ROTATIONS)],
                          dim=1)
    return rotated.reshape(-1, *inputs.shape[1:])


def joint_labels(labels: Tensor) -> Tensor:
    """Joint class x rotation labels ``4*y + k`` in the order of :func:`rotate_batch`."""
    offsets = torch.arange(NUM_ROTATIONS, device=labels.device, dtype=labels.dtype)
    return (labels.view(-1, 1) * NUM_ROTATIONS + offsets).view(-1)
