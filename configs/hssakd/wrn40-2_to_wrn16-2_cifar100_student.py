# HSAKD offline student WRN-16-2 with a WRN-40-2 teacher (settings:
# ./_base_/offline.py): the networks are the classifiers of the fair baselines
# configs/baseline/wrn16-2_cifar100_hssakd.py (student) and
# configs/baseline/wrn40-2_cifar100_hssakd.py (teacher). Train the teacher with
# wrn40-2_cifar100_teacher.py (or _teacher_frozen.py), then
#   python tools/train.py configs/hssakd/wrn40-2_to_wrn16-2_cifar100_student.py \
#       --cfg-options model.teacher_checkpoint=work_dirs/TEACHER_RUN/best_....pth
_base_ = ['./_base_/offline.py']

model = dict(
    student=dict(cfg_path='{{ fileDirname }}/../baseline/wrn16-2_cifar100_hssakd.py'),
    teacher=dict(cfg_path='{{ fileDirname }}/../baseline/wrn40-2_cifar100_hssakd.py'))
