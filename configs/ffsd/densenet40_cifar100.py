# FFSD with DenseNet-40 students and leader (growth 12, no bottleneck or compression: the
# official densenet_40; stage taps dense1, dense2 and the final BN + ReLU: 168/312/456
# channels), official recipe (see ./_base_/ffsd_cifar100.py). The self-distillation modules
# map 456 -> 312 -> 168 channels, the official DIYSelfDistillationModel.
# Fair baseline: configs/baseline/densenet40_cifar100_ffsd.py.
_base_ = ['./_base_/ffsd_cifar100.py']

model = dict(
    architecture=dict(
        type='ImageClassifier',
        backbone=dict(type='mmselfkd.CIFARDenseNet', depth=40, growth_rate=12,
                      out_indices=(0, 1, 2)),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=100, in_channels=456, init_cfg=None)))
