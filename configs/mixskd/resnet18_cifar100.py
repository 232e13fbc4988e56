# MixSKD (ECCV 2022) on CIFAR-100 with the official recipe (winycg/Self-KD-Lib
# main_mixskd_cifar.py defaults): batch 64 on one GPU, SGD 0.1 Nesterov, momentum 0.9, weight
# decay 5e-4, per-iteration warm-up 0.1*(1+j)/(5N) for 5 epochs, then x0.1 at epochs 105 and
# 155 of 205; mixup alpha 0.4, T 3; seed 0. Behaviour of the official CIFAR script: the mixup
# CE is not added (so the self-teacher is never trained) and the discriminators are fixed
# random networks. Fair baseline: configs/baseline/resnet18_cifar100_mixskd.py.
_base_ = ['../_base_/datasets/cifar100_bs128.py', '../_base_/default_runtime.py']

# official dataloaders.py normalisation (CIFAR-100 statistics), x255
data_preprocessor = dict(mean=[129.310, 124.109, 112.404], std=[68.213, 65.407, 70.406])
train_dataloader = dict(batch_size=64)
val_dataloader = dict(batch_size=64)
test_dataloader = val_dataloader

model = dict(
    type='mmselfkd.MixSKD',
    student=dict(
        type='ImageClassifier',
        # MixSKD's CIFAR ResNet-18: no ReLU after the stem BN, PyTorch default init; every
        # stage is returned for the auxiliary branches, the head classifies the last one
        backbone=dict(
            type='mmselfkd.ResNet_CIFAR',
            depth=18,
            stem_relu=False,
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
    # concat of the 4 stage features (4 x 512) -> 1x1 conv 512 -> GAP -> FC 100
    self_teacher=dict(type='mmselfkd.StageAggregator', out_channels=512),
    mixup_alpha=0.4,
    temperature=3.0,
    mixup_cls_loss=False,  # official CIFAR script: L_mixcls logged, not trained
    train_discriminators=False,  # official: random discriminators, never updated
    val_heads=True)

# accuracy/top1 = the deployed classifier (main metric, best checkpoint); heads/best_top1 =
# the official script's number (best of the 4 stage classifiers)
val_evaluator = [
    dict(type='Accuracy', topk=(1, 5)),
    dict(type='mmselfkd.MultiHeadAccuracy', heads=['stage1', 'stage2', 'stage3']),
]
test_evaluator = val_evaluator

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True))
param_scheduler = [
    # lr = 0.1 * (1 + j) / (5N) for the first 5N iterations (MMEngine's LinearLR differs)
    dict(type='mmselfkd.LinearWarmupLR', by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    # milestones count from `begin`: x0.1 at epochs 105 and 155
    dict(type='MultiStepLR', by_epoch=True, begin=5, end=205, milestones=[100, 150],
         gamma=0.1),
]
train_cfg = dict(by_epoch=True, max_epochs=205, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
randomness = dict(seed=0)
