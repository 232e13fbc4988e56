"""Loss formulas, as functions of tensors; each algorithm picks the terms, their inputs,
weights and detaches in its ``loss``.

``kd_losses`` holds the formulas several methods share, ``<method>_losses`` those of one
method.
"""
from .ffsd_losses import attention_shifted_feature, diversity_loss
from .kd_losses import (at_least_float32, attention_map, attention_transfer, bernoulli_kl,
                        kl_divergence, normalized_distance)
from .mixskd_losses import discriminator_bce, mixup_cross_entropy

__all__ = [
    'at_least_float32', 'kl_divergence', 'bernoulli_kl', 'attention_map', 'attention_transfer',
    'normalized_distance', 'diversity_loss', 'attention_shifted_feature', 'mixup_cross_entropy',
    'discriminator_bce'
]
