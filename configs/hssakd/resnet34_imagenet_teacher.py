# HSAKD teacher pre-training on ImageNet, joint variant ("Teacher*", 75.48 in the official
# README): ResNet-34 and its 4 auxiliary branches trained from scratch (winycg/HSAKD
# train_teacher_imagenet.py without --freezed); official ImageNet recipe (see the baseline
# twin configs/baseline/resnet34_imagenet_hssakd.py). Its checkpoint is the
# `teacher_checkpoint` of resnet34_to_resnet18_imagenet_student.py.
# Launch on 8 GPUs: bash tools/dist_train.sh configs/hssakd/resnet34_imagenet_teacher.py 8
_base_ = ['../baseline/resnet34_imagenet_hssakd.py']

model = dict(
    _delete_=True,
    type='mmselfkd.HSSAKD',
    mode='teacher',
    student={{_base_.model}},
    aux_branches=dict(type='mmselfkd.HSSAKDBranches', num_classes=1000, fc_init='default'))
