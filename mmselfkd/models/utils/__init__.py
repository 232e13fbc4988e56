from .rotation import NUM_ROTATIONS, joint_labels, rotate_batch

__all__ = ['NUM_ROTATIONS', 'rotate_batch', 'joint_labels']
