# FRSKD with an ImageNet-style ResNet-18 (7x7 stem, total stride 32) whose exported backbone
# loads into mmseg/mmdet ResNet-18 (same keys). The official repository has no ImageNet
# recipe of its own (main.py defaults are the CIFAR ones) and the paper's is not available
# to us, so this is mmpretrain's resnet18_8xb32_in1k recipe, its fair baseline twin:
# SGD 0.1, momentum 0.9, weight decay 1e-4, 8 GPUs x 32 = batch 256, 100 epochs, lr x0.1 at
# 30/60/90, mmpretrain's ResNet initialisation. FRSKD's loss weights are the README ones.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py', '../_base_/default_runtime.py'
]

model = dict(
    type='mmselfkd.FRSKD',
    # mmpretrain's _base_/models/resnet18.py, returning all four stages
    student=dict(
        type='ImageClassifier',
        backbone=dict(
            type='ResNet', depth=18, num_stages=4, out_indices=(0, 1, 2, 3), style='pytorch'),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=1000,
            in_channels=512,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
            topk=(1, 5))),
    self_teacher=dict(type='mmselfkd.BiFPNSelfTeacher', width=2, depth=2),
    alpha=2.0,
    beta=100.0,
    temperature=4.0)

# beside every saved/best checkpoint: epoch_N_deploy.pth (plain mmpretrain classifier) and
# epoch_N_backbone.pth (backbone.* for configs/downstream, `backbone_checkpoint=...`)
custom_hooks = [dict(type='mmselfkd.ExportDeployableHook', parts=('model', 'backbone'))]
