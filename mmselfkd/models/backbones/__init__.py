from .cifar_resnet import CIFARResNet
from .resnet_cifar import ResNet_CIFAR
from .wide_resnet import WideResNet

__all__ = ['CIFARResNet', 'WideResNet', 'ResNet_CIFAR']
