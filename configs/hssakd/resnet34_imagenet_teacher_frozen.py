# HSAKD teacher pre-training on ImageNet, frozen variant ("Teacher", 73.31 in the official
# README): a pretrained ResNet-34 is frozen in eval mode and only the 4 auxiliary branches
# learn the joint labels, on detached features, with the same 100-epoch schedule
# (train_teacher_imagenet.py --freezed). The official run loads torchvision's
# resnet34-333f7ec4.pth; here model.classifier_checkpoint takes an mmpretrain checkpoint
# (keys backbone.*, head.*), e.g. mmpretrain's resnet34_8xb32_in1k
# (https://download.openmmlab.com/mmclassification/v0/resnet/resnet34_8xb32_in1k_20210831-f257d4e6.pth,
# 73.62 top-1) or a run of configs/baseline/resnet34_imagenet_hssakd.py:
#   bash tools/dist_train.sh configs/hssakd/resnet34_imagenet_teacher_frozen.py 8 \
#       --cfg-options model.classifier_checkpoint=resnet34_8xb32_in1k_20210831-f257d4e6.pth
_base_ = ['./resnet34_imagenet_teacher.py']

model = dict(freeze_backbone=True, classifier_checkpoint=None)
