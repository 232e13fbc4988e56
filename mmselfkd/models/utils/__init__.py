from .layers import conv_bn_relu
from .rotation import NUM_ROTATIONS, joint_labels, rotate_batch
from .weight_init import init_conv_bn

__all__ = ['NUM_ROTATIONS', 'rotate_batch', 'joint_labels', 'init_conv_bn', 'conv_bn_relu']
