from .host import (LabelLoss, add_head_scores, backbone_outputs, backbone_outputs_and_stage_maps,
                   classifier_logits, classifier_predictions, forward_with_backbone_outputs,
                   head_label_loss, head_losses, probe_feature_maps, unwrap)
from .layers import conv_bn_relu
from .layout import keep_small_maps_contiguous
from .recompute import frozen_running_stats, recompute_in_backward
from .rotation import NUM_ROTATIONS, joint_labels, rotate_batch
from .weight_init import init_conv_bn

__all__ = [
    'NUM_ROTATIONS', 'rotate_batch', 'joint_labels', 'init_conv_bn', 'conv_bn_relu',
    'LabelLoss', 'unwrap', 'backbone_outputs', 'backbone_outputs_and_stage_maps',
    'classifier_logits', 'classifier_predictions', 'forward_with_backbone_outputs', 'head_losses',
    'head_label_loss', 'probe_feature_maps', 'add_head_scores', 'recompute_in_backward',
    'frozen_running_stats', 'keep_small_maps_contiguous'
]
