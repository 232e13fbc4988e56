# HSSAKD's official CIFAR-100 data and recipe (winycg/HSAKD train_*_cifar.py: argument
# defaults, data loaders, adjust_lr and optim.SGD; the lr of each network in the
# train_*_cifar.sh scripts): RandomCrop(32, pad 4) + flip, CIFAR-100 normalisation, batch
# 64 images (the algorithm rotates them into 256 rows), SGD lr 0.05, momentum 0.9, Nesterov,
# weight decay 5e-4, x0.1 at epochs 150/180/210 of 240, no warm-up, seed 0.
_base_ = ['../../_base_/datasets/cifar100_bs128.py', '../../_base_/default_runtime.py']

# official Normalize([0.5071, 0.4867, 0.4408], [0.2675, 0.2565, 0.2761]), x255
data_preprocessor = dict(mean=[129.3105, 124.1085, 112.404], std=[68.2125, 65.4075, 70.4055])
train_dataloader = dict(batch_size=64)
val_dataloader = dict(batch_size=64)
test_dataloader = val_dataloader

# fused=True: the same SGD update in one pass over the weights (PyTorch's fused kernel)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4, nesterov=True,
                   fused=True))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[150, 180, 210], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=240, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
randomness = dict(seed=0)
