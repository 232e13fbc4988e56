# Plain CIFAR ResNet-32 with FFSD's official data and SGD recipe: the fair baseline of
# configs/ffsd/resnet32_cifar100.py (the leader's architecture and init, reflect-pad crop,
# FFSD normalisation, batch 128, SGD-Nesterov 0.1, wd 1e-4, 299 epochs, x0.1 at 150/225).
_base_ = ['../ffsd/_base_/cifar100_data.py', '../_base_/default_runtime.py']

model = dict(
    type='ImageClassifier',
    backbone=dict(type='mmselfkd.CIFARResNet', depth=32),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=100, in_channels=64, init_cfg=None))

# fused=True: the same SGD update in one pass over the weights (PyTorch's fused kernel)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4, nesterov=True,
                   fused=True))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[150, 225], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=299, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
