# Plain ResNet-50 with MixSKD's official ImageNet data, recipe and init: the fair baseline of
# configs/mixskd/resnet50_imagenet.py (8 GPUs x 16, SGD 0.1, weight decay 1e-4, 5-epoch
# per-iteration warm-up + per-epoch cosine over 300 epochs, Kaiming fan-out init, no
# zero-init of the last BN, PyTorch default init of the classifier).
# Launch: bash tools/dist_train.sh configs/baseline/resnet50_imagenet_mixskd.py 8
_base_ = [
    '../_base_/models/linear_classifier.py', 'mmpretrain::_base_/datasets/imagenet_bs32.py',
    '../_base_/default_runtime.py'
]

train_dataloader = dict(batch_size=16)
val_dataloader = dict(batch_size=16)
test_dataloader = val_dataloader

model = dict(
    backbone=dict(type='ResNet', depth=50, out_indices=(3, ), zero_init_residual=False),
    head=dict(num_classes=1000, in_channels=2048))

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4, nesterov=False))
param_scheduler = [
    dict(type='mmselfkd.LinearWarmupLR', by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=5, end=305, T_max=300, eta_min=0.0),
]
train_cfg = dict(by_epoch=True, max_epochs=305, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
randomness = dict(seed=0)

# epoch_N_backbone.pth beside every checkpoint, for configs/downstream
custom_hooks = [dict(type='mmselfkd.ExportDeployableHook', parts=('model', 'backbone'))]
