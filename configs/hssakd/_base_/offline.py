# HSAKD offline student (Yang et al., IJCAI 2021) on CIFAR-100: the student and its auxiliary
# branches learn from a teacher trained by a *_teacher.py or *_teacher_frozen.py config:
# CE of the final head on the unrotated rows + KL (T = 3) of every auxiliary joint head and of
# the final head over all rotated rows, every term with weight 1 (winycg/HSAKD
# train_student_cifar.py, lines 206-221). Recipe: ./cifar100_hssakd.py. A config names both
# networks (model.student and model.teacher, the classifiers of their fair baselines); set
# model.teacher_checkpoint to a checkpoint of the teacher run (keys student.*, aux_branches.*).
_base_ = ['./cifar100_hssakd.py']

model = dict(
    type='mmselfkd.HSSAKD',
    mode='offline',
    teacher_checkpoint=None,
    aux_branches=dict(type='mmselfkd.HSSAKDBranches', num_classes=100),
    temperature=3.0)
