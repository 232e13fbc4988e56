# FFSD with CIFAR GoogLeNet students and leader (the official googlenet; stage taps
# inception_b3, inception_e4 and inception_b5: 480/832/1024 channels), official recipe (see
# ./_base_/ffsd_cifar100.py). The self-distillation modules map 1024 -> 832 -> 480 channels,
# the official DIYSelfDistillationModel.
# Fair baseline: configs/baseline/googlenet_cifar100_ffsd.py.
_base_ = ['./_base_/ffsd_cifar100.py']

model = dict(
    architecture=dict(
        type='ImageClassifier',
        backbone=dict(type='mmselfkd.CIFARGoogLeNet', out_indices=(0, 1, 2)),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=100, in_channels=1024, init_cfg=None)))
