# HSAKD offline student ResNet-8x4 with a ResNet-32x4 teacher (settings:
# ./_base_/offline.py): the networks are the classifiers of the fair baselines
# configs/baseline/resnet8x4_cifar100_hssakd.py (student) and
# configs/baseline/resnet32x4_cifar100_hssakd.py (teacher). Train the teacher with
# resnet32x4_cifar100_teacher.py (or _teacher_frozen.py), then
#   python tools/train.py configs/hssakd/resnet32x4_to_resnet8x4_cifar100_student.py \
#       --cfg-options model.teacher_checkpoint=work_dirs/TEACHER_RUN/best_....pth
_base_ = ['./_base_/offline.py']

model = dict(
    student=dict(cfg_path='{{ fileDirname }}/../baseline/resnet8x4_cifar100_hssakd.py'),
    teacher=dict(cfg_path='{{ fileDirname }}/../baseline/resnet32x4_cifar100_hssakd.py'))
