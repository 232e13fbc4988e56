# Plain CIFAR ResNet-18 with MixSKD's official data, recipe and backbone: the fair baseline
# of configs/mixskd/resnet18_cifar100.py (same normalisation, batch 64, Nesterov SGD, weight
# decay 5e-4, 5-epoch per-iteration warm-up + steps at 105/155 of 205 epochs, stem without
# ReLU, PyTorch default init). Self-KD-Lib's own baseline (main.py) uses batch 128 for 200
# epochs and a stem ReLU instead, which is why this config exists.
_base_ = [
    '../_base_/models/resnet18_cifar.py', '../_base_/datasets/cifar100_bs128.py',
    '../_base_/default_runtime.py'
]

data_preprocessor = dict(mean=[129.310, 124.109, 112.404], std=[68.213, 65.407, 70.406])
train_dataloader = dict(batch_size=64)
val_dataloader = dict(batch_size=64)
test_dataloader = val_dataloader

# MixSKD's CIFAR ResNet-18: no ReLU after the stem BN
model = dict(backbone=dict(type='mmselfkd.ResNet_CIFAR', stem_relu=False))

# fused=True: the same SGD update in one pass over the weights (PyTorch's fused kernel)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True,
                   fused=True))
param_scheduler = [
    dict(type='mmselfkd.LinearWarmupLR', by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='MultiStepLR', by_epoch=True, begin=5, end=205, milestones=[100, 150],
         gamma=0.1),
]
train_cfg = dict(by_epoch=True, max_epochs=205, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
randomness = dict(seed=0)
