# FFSD's official CIFAR-100 recipe (SJLeo/FFSD cifar.py -> CIFARTrainer.py with the
# options/options.py defaults, which the README command keeps; configs/ffsd/README.md,
# "Recipe"). Architecture configs set model.architecture.
_base_ = ['./cifar100_data.py', './ffsd_runtime.py']

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
