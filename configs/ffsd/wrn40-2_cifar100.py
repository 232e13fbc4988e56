# FFSD with WRN-40-2 students and leader, the official Wide_ResNet (kuangliu-style
# pre-activation blocks, conv bias, final BN momentum 0.9; hooks on layer1, layer2 and the
# final ReLU), official recipe (see ./_base_/ffsd_cifar100.py).
_base_ = ['./_base_/ffsd_cifar100.py']

model = dict(
    architecture=dict(
        type='ImageClassifier',
        backbone=dict(
            type='mmselfkd.WideResNet',
            depth=40,
            widen_factor=2,
            out_indices=(0, 1, 2),
            block_style='kuangliu',
            conv_bias=True,
            final_norm_momentum=0.9),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=100, in_channels=128, init_cfg=None)))
