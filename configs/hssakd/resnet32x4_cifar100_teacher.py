# HSAKD teacher pre-training, joint variant ("Teacher*" of the paper): ResNet-32x4 and its 3
# auxiliary branches trained from scratch with CE on unrotated rows + joint CE on all
# rotated rows (winycg/HSAKD train_teacher_cifar.py without --freezed, spec 3.4 L_T).
# Its checkpoint is the `teacher_checkpoint` of the student configs.
_base_ = ['./_base_/cifar100_hssakd.py']

# official ResNet init of the FC: PyTorch's default
_teacher = dict(
    type='ImageClassifier',
    # the backbone applies the official He fan-out / BN(1, 0) init itself
    backbone=dict(
        type='mmselfkd.CIFARResNet', depth=32, stem_channels=32,
        stage_channels=(64, 128, 256)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=100,
        in_channels=256,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
        init_cfg=None))

model = dict(
    type='mmselfkd.HSSAKD',
    mode='teacher',
    student=_teacher,
    aux_branches=dict(type='mmselfkd.HSSAKDBranches', num_classes=100))
