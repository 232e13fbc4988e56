# Plain ResNet-34 with HSSAKD's official ImageNet data, recipe and network: everything as
# resnet18_imagenet_hssakd.py but the depth. The fair baseline of the configs/hssakd/ runs
# with this network (the teacher of resnet34_to_resnet18_imagenet_student.py).
_base_ = ['./resnet18_imagenet_hssakd.py']

model = dict(backbone=dict(depth=34))
