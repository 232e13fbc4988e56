from .cifar_resnet import CIFARResNet
from .densenet_cifar import CIFARDenseNet
from .googlenet_cifar import CIFARGoogLeNet
from .resnet_cifar import ResNet_CIFAR
from .vgg_cifar import CIFARVGG
from .wide_resnet import WideResNet

__all__ = ['CIFARResNet', 'CIFARDenseNet', 'CIFARGoogLeNet', 'CIFARVGG', 'WideResNet',
           'ResNet_CIFAR']
