from .ffsd_losses import attention_shifted_feature, diversity_loss
from .kd_losses import (AttentionTransferLoss, KLDivergence, at_least_float32, attention_map,
                        attention_transfer, kl_divergence, normalized_distance)

__all__ = [
    'KLDivergence', 'AttentionTransferLoss', 'at_least_float32', 'kl_divergence',
    'attention_map', 'attention_transfer', 'normalized_distance', 'diversity_loss',
    'attention_shifted_feature'
]
