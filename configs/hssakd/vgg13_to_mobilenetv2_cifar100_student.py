# HSAKD offline student MobileNetV2 with a VGG-13 (BN) teacher (settings:
# ./_base_/offline.py): the networks are the classifiers of the fair baselines
# configs/baseline/mobilenetv2_cifar100_hssakd.py (student) and
# configs/baseline/vgg13_cifar100_hssakd.py (teacher). Train the teacher with
# vgg13_cifar100_teacher.py (or _teacher_frozen.py), then
#   python tools/train.py configs/hssakd/vgg13_to_mobilenetv2_cifar100_student.py \
#       --cfg-options model.teacher_checkpoint=work_dirs/TEACHER_RUN/best_....pth
# Here: the official init of the student's branch classifiers; lr 0.01 as
# train_student_cifar.sh for this student.
_base_ = ['./_base_/offline.py']

model = dict(
    student=dict(cfg_path='{{ fileDirname }}/../baseline/mobilenetv2_cifar100_hssakd.py'),
    teacher=dict(cfg_path='{{ fileDirname }}/../baseline/vgg13_cifar100_hssakd.py'),
    aux_branches=dict(fc_init='normal'))
optim_wrapper = dict(optimizer=dict(lr=0.01))
