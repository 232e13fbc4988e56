from .kd_losses import (AttentionTransferLoss, KLDivergence, attention_map,
                        attention_transfer, kl_divergence, normalized_distance)

__all__ = [
    'KLDivergence', 'AttentionTransferLoss', 'kl_divergence', 'attention_map',
    'attention_transfer', 'normalized_distance'
]
from .ffsd_losses import attention_shifted_feature, diversity_loss  # noqa: E402
__all__ += ['diversity_loss', 'attention_shifted_feature']
