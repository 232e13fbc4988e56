# FRSKD + mixup (official README: --aug mixup --aug_a 0.2). mmpretrain's Mixup batch augment
# mixes the images and labels; both the student and the self-teacher CE use the mixed labels.
_base_ = './resnet18_cifar100.py'

model = dict(student=dict(train_cfg=dict(augments=dict(type='Mixup', alpha=0.2))))
