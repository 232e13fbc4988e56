# Plain ResNet-18 with HSSAKD's official ImageNet data, recipe and network (winycg/HSAKD
# train_*_imagenet.py): RandomResizedCrop 224 + flip, ImageNet normalisation, batch
# 256 (8 GPUs x 32), SGD lr 0.1, momentum 0.9, wd 1e-4, x0.1 at epochs 30/60/90 of 100, seed
# 0; torchvision's ResNet init (Kaiming fan-out, BN 1/0, no zero-init residual, default FC
# init). The fair baseline of the configs/hssakd/ ImageNet runs with this network (the
# official README's 69.75 is torchvision's pretrained ResNet-18, not a rerun).
# Launch on 8 GPUs: bash tools/dist_train.sh configs/baseline/resnet18_imagenet_hssakd.py 8
_base_ = [
    '../_base_/models/linear_classifier.py', 'mmpretrain::_base_/datasets/imagenet_bs32.py',
    '../_base_/default_runtime.py'
]

model = dict(
    # every stage is returned: the taps of HSSAKD's auxiliary branches
    backbone=dict(type='ResNet', depth=18, out_indices=(0, 1, 2, 3), zero_init_residual=False),
    head=dict(num_classes=1000, in_channels=512))

optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[30, 60, 90], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)
randomness = dict(seed=0)
