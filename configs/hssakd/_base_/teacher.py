# HSAKD teacher pre-training (Yang et al., IJCAI 2021) on CIFAR-100, joint variant
# ("Teacher*" of the paper): the network and its auxiliary branches trained from scratch with
# CE of the final head on the unrotated rows + joint (class x rotation) CE of every branch on
# all rotated rows (winycg/HSAKD train_teacher_cifar.py without --freezed, lines 207-220).
# Recipe: ./cifar100_hssakd.py. A config names the network (model.student, the classifier of
# its fair baseline); its checkpoint is the `teacher_checkpoint` of the student configs.
_base_ = ['./cifar100_hssakd.py']

model = dict(
    type='mmselfkd.HSSAKD',
    mode='teacher',
    aux_branches=dict(type='mmselfkd.HSSAKDBranches', num_classes=100))
