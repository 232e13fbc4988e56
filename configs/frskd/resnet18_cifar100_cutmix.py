# FRSKD + CutMix (official README: --aug cutmix --aug_a 1.0). mmpretrain's CutMix batch
# augment (lambda corrected from the box area, as in the official code) gives soft labels
# used by both the student and the self-teacher CE.
_base_ = './resnet18_cifar100.py'

model = dict(student=dict(train_cfg=dict(augments=dict(type='CutMix', alpha=1.0))))
