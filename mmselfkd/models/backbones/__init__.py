from .densenet_cifar import CIFARDenseNet
from .googlenet_cifar import CIFARGoogLeNet
from .mmpretrain_resnet_cifar import ResNet_CIFAR
from .mobilenetv2_cifar import CIFARMobileNetV2
from .resnet_cifar import CIFARResNet
from .shufflenet_cifar import CIFARShuffleNetV1, CIFARShuffleNetV2
from .vgg_cifar import CIFARVGG
from .wide_resnet_cifar import WideResNet

__all__ = ['CIFARResNet', 'CIFARDenseNet', 'CIFARGoogLeNet', 'CIFARMobileNetV2',
           'CIFARShuffleNetV1', 'CIFARShuffleNetV2', 'CIFARVGG', 'WideResNet', 'ResNet_CIFAR']
