# HSAKD offline student ResNet-20 with a ResNet-56 teacher (settings:
# ./_base_/offline.py): the networks are the classifiers of the fair baselines
# configs/baseline/resnet20_cifar100_hssakd.py (student) and
# configs/baseline/resnet56_cifar100_hssakd.py (teacher). Train the teacher with
# resnet56_cifar100_teacher.py (or _teacher_frozen.py), then
#   python tools/train.py configs/hssakd/resnet56_to_resnet20_cifar100_student.py \
#       --cfg-options model.teacher_checkpoint=work_dirs/TEACHER_RUN/best_....pth
_base_ = ['./_base_/offline.py']

model = dict(
    student=dict(cfg_path='{{ fileDirname }}/../baseline/resnet20_cifar100_hssakd.py'),
    teacher=dict(cfg_path='{{ fileDirname }}/../baseline/resnet56_cifar100_hssakd.py'))
