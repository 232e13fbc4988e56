# HSAKD teacher pre-training, joint variant ("Teacher*" of the paper): ResNet-50 and its 4
# auxiliary branches trained from scratch with CE on unrotated rows + joint CE on all
# rotated rows (winycg/HSAKD train_teacher_cifar.py without --freezed, spec 3.4 L_T).
# Its checkpoint is the `teacher_checkpoint` of resnet50_to_mobilenetv2_cifar100_student.py.
# The network is the baseline twin's classifier (same data, recipe and init).
_base_ = ['../baseline/resnet50_cifar100_hssakd.py']

model = dict(
    _delete_=True,
    type='mmselfkd.HSSAKD',
    mode='teacher',
    student={{_base_.model}},
    # the official ResNet-50 branch classifiers keep PyTorch's default init
    aux_branches=dict(type='mmselfkd.HSSAKDBranches', num_classes=100, fc_init='default'))
