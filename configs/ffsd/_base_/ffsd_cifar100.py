# FFSD's official CIFAR-100 recipe (SJLeo/FFSD: cifar.py -> CIFARTrainer.py, options.py,
# data/cifar100.py; spec section 4.4). Architecture configs set model.architecture.
_base_ = ['../../_base_/datasets/cifar100_bs128.py', './ffsd_runtime.py']

# official Normalize((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)) x 255
data_preprocessor = dict(
    num_classes=100,
    mean=[129.3105, 124.0575, 112.4295],
    std=[68.1615, 65.382, 70.431],
    to_rgb=False)
# official: Pad(4, reflect) -> HFlip -> RandomCrop(32); crop and flip commute in distribution
train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4, padding_mode='reflect'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=128, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader

# The leader is the deployable network and the selection metric ('accuracy/top1', best
# epoch on the test set as in the official script); the other heads are logged beside it.
val_evaluator = [
    dict(type='Accuracy', topk=(1, 5)),
    dict(type='mmselfkd.MultiHeadAccuracy', heads=['student1', 'student2', 'fusion']),
]
test_evaluator = val_evaluator

# one MultiStepLR per optimizer, stepped per epoch: epochs 1-150 / 151-225 / 226-299
param_scheduler = dict(
    students=dict(type='MultiStepLR', by_epoch=True, milestones=[150, 225], gamma=0.1),
    fusion=dict(type='MultiStepLR', by_epoch=True, milestones=[150, 225], gamma=0.1),
    leader=dict(type='MultiStepLR', by_epoch=True, milestones=[150, 225], gamma=0.1),
    self_distillers=dict(type='MultiStepLR', by_epoch=True, milestones=[150, 225], gamma=0.1))
# official `for epoch in range(1, 300)`: 299 epochs
train_cfg = dict(by_epoch=True, max_epochs=299, val_interval=1)
auto_scale_lr = dict(base_batch_size=128)
