# HSAKD offline student WRN-40-1 with the WRN-40-2 teacher of
# configs/hssakd/wrn40-2_cifar100_teacher.py (or _teacher_frozen.py): everything as
# wrn40-2_to_wrn16-2_cifar100_student.py but the student network.
#   python tools/train.py configs/hssakd/wrn40-2_to_wrn40-1_cifar100_student.py \
#       --cfg-options model.teacher_checkpoint=work_dirs/TEACHER_RUN/best_....pth
# Fair baseline: configs/baseline/wrn40-1_cifar100_hssakd.py (the student equals its
# classifier; tests/test_hssakd.py checks it).
_base_ = ['./wrn40-2_to_wrn16-2_cifar100_student.py']

model = dict(student=dict(backbone=dict(depth=40, widen_factor=1), head=dict(in_channels=64)))
