# FFSD on ImageNet with ResNet-34 students and leader: everything as resnet18_imagenet.py (the
# official ImageNetTrainer.py recipe) but the depth; the stage channels (64..512) and so the
# fusion, trans-fusion and Psi modules are those of ResNet-18.
# Launch on 8 GPUs (8 x 32 = 256): bash tools/dist_train.sh configs/ffsd/resnet34_imagenet.py 8
_base_ = ['./resnet18_imagenet.py']

model = dict(architecture=dict(backbone=dict(depth=34)))
