# HSAKD teacher pre-training, frozen variant ("Teacher" of the IJCAI paper): a trained plain
# ResNet-32x4 (model.classifier_checkpoint, e.g. a checkpoint of
# configs/baseline/resnet32x4_cifar100_hssakd.py) is frozen in eval mode; only the auxiliary
# branches learn the joint labels, on detached features, for 100 epochs with steps at
# 30/60/90 (winycg/HSAKD train_teacher_freezed.sh: --freezed --epochs 100).
#   python tools/train.py configs/hssakd/resnet32x4_cifar100_teacher_frozen.py \
#       --cfg-options model.classifier_checkpoint=work_dirs/BASELINE/best.pth
_base_ = ['./resnet32x4_cifar100_teacher.py']

model = dict(freeze_backbone=True, classifier_checkpoint=None)
param_scheduler = dict(milestones=[30, 60, 90])
train_cfg = dict(max_epochs=100)
