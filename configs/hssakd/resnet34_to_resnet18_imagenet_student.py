# HSAKD offline student on ImageNet (winycg/HSAKD train_student_imagenet.py): ResNet-18 with 4
# auxiliary branches learns from a ResNet-34 teacher trained by resnet34_imagenet_teacher.py
# (HSAKD*, 72.39 in the official README) or _teacher_frozen.py (HSAKD, 72.16): CE on unrotated
# rows + KL (T=3) of every auxiliary joint head and of the final head over all rotated rows;
# official ImageNet recipe (see the baseline twin).
#   bash tools/dist_train.sh configs/hssakd/resnet34_to_resnet18_imagenet_student.py 8 \
#       --cfg-options model.teacher_checkpoint=work_dirs/TEACHER_RUN/best_....pth
# Fair baseline: configs/baseline/resnet18_imagenet_hssakd.py (the student equals its
# classifier, the teacher that of configs/baseline/resnet34_imagenet_hssakd.py).
_base_ = ['../baseline/resnet18_imagenet_hssakd.py']

model = dict(
    _delete_=True,
    type='mmselfkd.HSSAKD',
    mode='offline',
    student={{_base_.model}},
    # the teacher network: the classifier of its fair baseline
    teacher=dict(cfg_path='{{ fileDirname }}/../baseline/resnet34_imagenet_hssakd.py'),
    # a checkpoint of the teacher run (keys student.*, aux_branches.*)
    teacher_checkpoint=None,
    aux_branches=dict(type='mmselfkd.HSSAKDBranches', num_classes=1000, fc_init='default'),
    temperature=3.0)
