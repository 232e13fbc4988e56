# HSAKD teacher pre-training, joint variant, of a WRN-40-2 (settings:
# ./_base_/teacher.py). The network is the classifier of the fair baseline
# configs/baseline/wrn40-2_cifar100_hssakd.py.
_base_ = ['./_base_/teacher.py']

model = dict(student=dict(cfg_path='{{ fileDirname }}/../baseline/wrn40-2_cifar100_hssakd.py'))
