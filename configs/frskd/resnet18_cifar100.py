# FRSKD (CVPR 2021) on CIFAR-100 with the official recipe (MingiJi/FRSKD README command:
# --alpha 2 --beta 100, T 4, BiFPNc width 2 depth 2): SGD 0.1, momentum 0.9, weight decay
# 1e-4, batch 128, 200 epochs, lr x0.1 at 100 and 150, CIFAR-10 normalisation.
# Fair baseline: configs/baseline/resnet18_cifar100.py (same data, schedule, backbone, init).
_base_ = [
    '../_base_/datasets/cifar100_bs128.py', '../_base_/schedules/cifar100_sgd_200e.py',
    '../_base_/default_runtime.py'
]

# FRSKD normalises CIFAR-100 with the CIFAR-10 statistics (official dataset.py).
data_preprocessor = dict(mean=[125.307, 122.961, 113.858], std=[51.587, 50.847, 51.255])

model = dict(
    type='mmselfkd.FRSKD',
    # the baseline's classifier (configs/_base_/models/resnet18_cifar.py), returning all
    # four stages for the self-teacher; the head still classifies the last one
    student=dict(
        type='ImageClassifier',
        backbone=dict(
            type='ResNet_CIFAR',
            depth=18,
            out_indices=(0, 1, 2, 3),
            zero_init_residual=False,
            init_cfg=None),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=100,
            in_channels=512,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
            topk=(1, 5),
            init_cfg=None)),
    # in_channels (64, 128, 256, 512) and num_classes are read from the student
    self_teacher=dict(type='mmselfkd.BiFPNSelfTeacher', width=2, depth=2),
    alpha=2.0,
    beta=100.0,
    temperature=4.0)
