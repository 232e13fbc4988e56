# HSAKD offline student (IJCAI 2021): MobileNetV2 with its auxiliary branches learns from a
# VGG-13 (BN) teacher trained by configs/hssakd/vgg13_cifar100_teacher.py (or
# _teacher_frozen.py): CE on unrotated rows + KL (T=3) of every auxiliary joint head and of
# the final head over all rotated rows (winycg/HSAKD train_student_cifar.py, spec 3.4 L_S;
# lr 0.01 as train_student_cifar.sh for this student).
# Official README: teacher 74.64 / 78.48, student 73.51, HSAKD 77.45 / 79.27.
#   python tools/train.py configs/hssakd/vgg13_to_mobilenetv2_cifar100_student.py \
#       --cfg-options model.teacher_checkpoint=work_dirs/TEACHER_RUN/best_....pth
# Fair baseline: configs/baseline/mobilenetv2_cifar100_hssakd.py. The student is the
# baseline twin's classifier (same data, recipe and init); the teacher is the classifier of
# configs/baseline/vgg13_cifar100_hssakd.py (tests/test_hssakd.py checks both).
_base_ = ['../baseline/mobilenetv2_cifar100_hssakd.py']

model = dict(
    _delete_=True,
    type='mmselfkd.HSSAKD',
    mode='offline',
    student={{_base_.model}},
    # the teacher network: the classifier of its fair baseline
    teacher=dict(cfg_path='{{ fileDirname }}/../baseline/vgg13_cifar100_hssakd.py'),
    # a checkpoint of the teacher run (keys student.*, aux_branches.*)
    teacher_checkpoint=None,
    # the student's official branch classifiers' init (the teacher's come from its checkpoint)
    aux_branches=dict(type='mmselfkd.HSSAKDBranches', num_classes=100, fc_init='normal'),
    temperature=3.0)
