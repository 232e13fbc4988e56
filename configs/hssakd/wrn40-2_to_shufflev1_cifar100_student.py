# HSAKD offline student (IJCAI 2021): ShuffleNetV1 with its auxiliary branches learns from a
# WRN-40-2 teacher trained by configs/hssakd/wrn40-2_cifar100_teacher.py (or
# _teacher_frozen.py): CE on unrotated rows + KL (T=3) of every auxiliary joint head and of
# the final head over all rotated rows (winycg/HSAKD train_student_cifar.py, spec 3.4 L_S;
# lr 0.01 as train_student_cifar.sh for this student).
# Official README: teacher 76.45 / 80.70, student 71.74, HSAKD 78.51 / 80.11.
#   python tools/train.py configs/hssakd/wrn40-2_to_shufflev1_cifar100_student.py \
#       --cfg-options model.teacher_checkpoint=work_dirs/TEACHER_RUN/best_....pth
# Fair baseline: configs/baseline/shufflev1_cifar100_hssakd.py. The student is the
# baseline twin's classifier (same data, recipe and init); the teacher is the classifier of
# configs/baseline/wrn40-2_cifar100_hssakd.py (tests/test_hssakd.py checks both).
_base_ = ['../baseline/shufflev1_cifar100_hssakd.py']

model = dict(
    _delete_=True,
    type='mmselfkd.HSSAKD',
    mode='offline',
    student={{_base_.model}},
    # the teacher network: the classifier of its fair baseline
    teacher=dict(cfg_path='{{ fileDirname }}/../baseline/wrn40-2_cifar100_hssakd.py'),
    # a checkpoint of the teacher run (keys student.*, aux_branches.*)
    teacher_checkpoint=None,
    # the student's official branch classifiers' init (the teacher's come from its checkpoint)
    aux_branches=dict(type='mmselfkd.HSSAKDBranches', num_classes=100, fc_init='zero_bias'),
    temperature=3.0)
