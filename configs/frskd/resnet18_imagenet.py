# FRSKD with an ImageNet-style ResNet-18 (7x7 stem, total stride 32) whose exported backbone
# loads into mmseg/mmdet ResNet-18 (same keys). The official repository has no ImageNet
# recipe of its own (classification/main.py defaults are the CIFAR ones) and the paper's is
# not available to us, so everything but the self-distillation is the fair baseline
# configs/baseline/resnet18_imagenet.py, mmpretrain's resnet18_8xb32_in1k recipe: SGD 0.1,
# momentum 0.9, weight decay 1e-4, 8 GPUs x 32 = batch 256, 100 epochs, lr x0.1 at 30/60/90,
# mmpretrain's ResNet initialisation. FRSKD's loss weights are those of the README command.
_base_ = '../baseline/resnet18_imagenet.py'

model = dict(
    _delete_=True,
    type='mmselfkd.FRSKD',
    # the baseline's classifier, asked for all four stages
    student=dict(_base_.model, backbone=dict(_base_.model.backbone, out_indices=(0, 1, 2, 3))),
    self_teacher=dict(type='mmselfkd.BiFPNSelfTeacher', width=2, depth=2),
    alpha=2.0,
    beta=100.0,
    temperature=4.0)
