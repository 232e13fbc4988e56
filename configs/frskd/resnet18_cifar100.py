# FRSKD (Ji et al., CVPR 2021) on CIFAR-100 with the official recipe. Everything but the
# self-distillation is the fair baseline configs/baseline/resnet18_cifar100.py (data, CIFAR-10
# normalisation, SGD 0.1, weight decay 1e-4, batch 128, 200 epochs, backbone and init).
# Loss: CE(student) + CE(self-teacher) + alpha KL_T(student || sg self-teacher)
# + beta sum_i AT(F_i, sg G_i) with T = 4, alpha = 2, beta = 100 (MingiJi/FRSKD
# classification/utils.py, lines 58-66; README command `--alpha 2 --beta 100`) and the BiFPNc
# self-teacher of width 2, depth 2 (classification/main.py defaults).
_base_ = '../baseline/resnet18_cifar100.py'

model = dict(
    _delete_=True,
    type='mmselfkd.FRSKD',
    # the baseline's classifier, asked for all four stages (the self-teacher's inputs); its
    # head still classifies the last one
    student=dict(_base_.model, backbone=dict(_base_.model.backbone, out_indices=(0, 1, 2, 3))),
    # in_channels (64, 128, 256, 512) are read from the student; the self-teacher's
    # classifier (teacher_head) takes the student head's num_classes
    self_teacher=dict(type='mmselfkd.BiFPNSelfTeacher', width=2, depth=2),
    alpha=2.0,
    beta=100.0,
    temperature=4.0)
