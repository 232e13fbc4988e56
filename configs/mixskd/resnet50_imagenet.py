# MixSKD (ECCV 2022) ResNet-50 on ImageNet with the official recipe
# (winycg/Self-KD-Lib scripts/main_mixskd_imagenet.sh): 8 GPUs x 16 images (global batch 128,
# mixup pairs and BatchNorm statistics per GPU), SGD 0.1, momentum 0.9, weight decay 1e-4, no
# Nesterov, per-iteration warm-up 0.1*(1+j)/(5N) for 5 epochs then per-epoch cosine over 300
# epochs (305 in all), mixup alpha 0.2, T 3, RandomResizedCrop 224 + flip. Behaviour of the
# official ImageNet script: the mixup CE IS added (the self-teacher trains) and the
# discriminators are fixed random networks.
# Launch: bash tools/dist_train.sh configs/mixskd/resnet50_imagenet.py 8
# Fair baseline: configs/baseline/resnet50_imagenet_mixskd.py.
_base_ = ['mmpretrain::_base_/datasets/imagenet_bs32.py', '../_base_/default_runtime.py']

train_dataloader = dict(batch_size=16)
val_dataloader = dict(batch_size=16)
test_dataloader = val_dataloader

model = dict(
    type='mmselfkd.MixSKD',
    student=dict(
        type='ImageClassifier',
        # torchvision ResNet-50 v1.5 (stride in the 3x3 conv), Kaiming fan-out init, no
        # zero-init of the last BN, PyTorch default init of the classifier
        backbone=dict(
            type='ResNet', depth=50, out_indices=(0, 1, 2, 3), zero_init_residual=False),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=1000,
            in_channels=2048,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
            topk=(1, 5),
            init_cfg=None)),
    # concat of the 4 stage features (4 x 2048) -> 1x1 conv 2048 -> GAP -> FC 1000
    self_teacher=dict(type='mmselfkd.StageAggregator', out_channels=2048),
    mixup_alpha=0.2,
    temperature=3.0,
    mixup_cls_loss=True,  # official ImageNet script adds L_mixcls
    train_discriminators=False,  # official: random discriminators, never updated
    val_heads=True)

val_evaluator = [
    dict(type='Accuracy', topk=(1, 5)),
    dict(type='mmselfkd.MultiHeadAccuracy', heads=['stage1', 'stage2', 'stage3']),
]
test_evaluator = val_evaluator

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4, nesterov=False))
param_scheduler = [
    dict(type='mmselfkd.LinearWarmupLR', by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    # 0.05 * (1 + cos(pi * (epoch - 5) / 300)), updated once per epoch
    dict(type='CosineAnnealingLR', by_epoch=True, begin=5, end=305, T_max=300, eta_min=0.0),
]
train_cfg = dict(by_epoch=True, max_epochs=305, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
randomness = dict(seed=0)

# beside every saved/best checkpoint: epoch_N_deploy.pth (plain mmpretrain classifier) and
# epoch_N_backbone.pth (backbone.* for configs/downstream, `backbone_checkpoint=...`)
custom_hooks = [dict(type='mmselfkd.ExportDeployableHook', parts=('model', 'backbone'))]
