"""CIFAR backbones of HSSAKD/FFSD: structure, stage taps, parameter counts of the official
networks (winycg/HSAKD ``models/``, SJLeo/FFSD ``models/``)."""
import pytest
import torch
from torch import nn

from mmselfkd.models.aux_branches import build_stage, stage_out_channels
from mmselfkd.models.backbones import (CIFARDenseNet, CIFARGoogLeNet, CIFARMobileNetV2,
                                       CIFARResNet, CIFARShuffleNetV1, CIFARShuffleNetV2,
                                       CIFARVGG, WideResNet)

from conftest import num_params  # noqa: E402


def with_fc(backbone: nn.Module, num_classes: int = 100) -> int:
    """Parameters of backbone + Linear(C, K), the official network's count (``C``: the last
    stage, or the 1x1 conv after it of MobileNetV2 / ShuffleNetV2)."""
    c = getattr(backbone, 'last_channels', stage_out_channels(backbone)[-1])
    return num_params(backbone) + c * num_classes + num_classes


# (backbone, params of backbone + FC with K=100, counted with the official classes)
OFFICIAL = {
    'resnet20': (lambda: CIFARResNet(20), 278_324),
    'resnet32': (lambda: CIFARResNet(32), 472_756),
    'resnet56': (lambda: CIFARResNet(56), 861_620),
    'resnet8x4': (lambda: CIFARResNet(8, 32, (64, 128, 256)), 1_233_540),
    'resnet32x4': (lambda: CIFARResNet(32, 32, (64, 128, 256)), 7_433_860),
    'wrn16-2': (lambda: WideResNet(16, 2), 703_284),
    'wrn40-1': (lambda: WideResNet(40, 1), 569_780),
    'wrn40-2': (lambda: WideResNet(40, 2), 2_255_156),
    'wrn16-2-ffsd': (lambda: WideResNet(16, 2, block_style='kuangliu', conv_bias=True,
                                        final_norm_momentum=0.9), 704_420),
    # FFSD's densenet_40 and googlenet (counted with the official classes)
    'densenet40': (lambda: CIFARDenseNet(40), 1_100_428),
    'googlenet': (lambda: CIFARGoogLeNet(), 6_258_500),
    # HSSAKD's vgg13_bn, mobilenetV2, ShuffleV1, ShuffleV2 (9.462 / 0.813 / 0.949 / 1.356 M)
    'vgg13': (lambda: CIFARVGG(13), 9_462_180),
    'mobilenetv2': (lambda: CIFARMobileNetV2(), 812_836),
    'shufflev1': (lambda: CIFARShuffleNetV1(), 949_258),
    'shufflev2': (lambda: CIFARShuffleNetV2(), 1_355_528),
}


@pytest.mark.parametrize('name', sorted(OFFICIAL))
def test_parameter_counts(name):
    build, expected = OFFICIAL[name]
    # official: 0.278 / 0.473 / 0.862 / 1.234 / 7.434 / 0.703 / 0.570 / 2.255 / 0.704 M
    assert with_fc(build()) == expected


@pytest.mark.parametrize('backbone,channels', [
    (CIFARResNet(20, out_indices=(0, 1, 2)), (16, 32, 64)),
    (CIFARResNet(8, 32, (64, 128, 256), out_indices=(0, 1, 2)), (64, 128, 256)),
    (WideResNet(16, 2, out_indices=(0, 1, 2)), (32, 64, 128)),
    (CIFARDenseNet(40, out_indices=(0, 1, 2)), (168, 312, 456)),
    (CIFARGoogLeNet(out_indices=(0, 1, 2)), (480, 832, 1024)),
])
def test_stage_outputs_at_32x32(backbone, channels):
    outs = backbone(torch.randn(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(2, channels[0], 32, 32),
                                              (2, channels[1], 16, 16),
                                              (2, channels[2], 8, 8)]
    assert stage_out_channels(backbone) == list(channels)


def test_resnet_taps_are_layer_outputs():
    """FFSD hooks layer1..layer3: out_indices (0, 1, 2) must return exactly those."""
    torch.manual_seed(0)
    net = CIFARResNet(8, out_indices=(0, 1, 2)).eval()
    x = torch.randn(2, 3, 16, 16)
    outs = net(x)
    stem = torch.relu(net.bn1(net.conv1(x)))
    l1 = net.layer1(stem)
    l2 = net.layer2(l1)
    l3 = net.layer3(l2)
    for out, ref in zip(outs, (l1, l2, l3)):
        assert torch.equal(out, ref)
    assert (outs[0] >= 0).all()  # post-activation blocks end with ReLU


def test_wrn_last_output_is_final_bn_relu_and_raw_tap_is_separate():
    torch.manual_seed(0)
    net = WideResNet(10, 1, out_indices=(0, 1, 2)).train()
    x = torch.randn(2, 3, 16, 16)
    outs, stages = net.forward_stages(x)
    l1 = net.layer1(net.conv1(x))
    l2 = net.layer2(l1)
    l3 = net.layer3(l2)
    assert torch.equal(outs[0], l1) and torch.equal(outs[1], l2)
    assert torch.equal(stages[2], l3)
    assert torch.allclose(outs[2], torch.relu(net.bn1(l3)))
    assert not torch.allclose(outs[2], stages[2])
    assert torch.equal(net(x)[-1], outs[2])


@pytest.mark.parametrize('backbone, hooked', [
    (CIFARDenseNet(13, out_indices=(0, 1, 2)), ['dense1', 'dense2', 'bn']),
    (CIFARGoogLeNet(out_indices=(0, 1, 2)), ['inception_b3', 'inception_e4', 'inception_b5']),
])
def test_ffsd_taps_are_the_official_hooked_layers(backbone, hooked):
    """The official code hooks these modules (DenseNet: its final ``relu``, here the BN the
    ReLU follows); out_indices (0, 1, 2) must return exactly their outputs."""
    torch.manual_seed(0)
    recorded = {}
    for name in hooked:
        getattr(backbone, name).register_forward_hook(
            lambda module, args, out, name=name: recorded.__setitem__(name, out))
    outs = backbone.train()(torch.randn(2, 3, 32, 32))
    refs = [recorded[name] for name in hooked]
    if hooked[-1] == 'bn':
        refs[-1] = torch.relu(refs[-1])
    assert all(torch.equal(out, ref) for out, ref in zip(outs, refs))


def test_densenet_layers_and_init():
    net = CIFARDenseNet(40, growth_rate=12)
    assert len(net.dense1) == len(net.dense3) == 12
    assert net.conv1.out_channels == 24 and net.trans1.conv1.out_channels == 168
    assert CIFARDenseNet(40, compression=2).trans1.conv1.out_channels == 84
    layer = net.dense3[0].conv1  # 3x3, 12 out channels: std sqrt(2 / (9 * 12))
    assert abs(layer.weight.std().item() - (2 / (9 * 12))**0.5) < 0.04
    conv = CIFARGoogLeNet().inception_a3.branch5x5[3]  # 3x3, 16 -> 32, with bias
    assert conv.kernel_size == (3, 3) and conv.in_channels == 16 and conv.bias is not None


def test_vgg_stages_and_branch_copies():
    """Taps of the official forward (f0..f3) and the stage copies of the official
    ``Auxiliary_Classifier``: max-pool in front at stride 2, none for the stride-1 copy of the
    last stage (block3 + block4, 512 in); the copies keep PyTorch's default init."""
    torch.manual_seed(0)
    net = CIFARVGG(13, out_indices=(0, 1, 2, 3))
    outs = net(torch.randn(2, 3, 32, 32))
    assert [tuple(o.shape[1:]) for o in outs] == [(64, 32, 32), (128, 16, 16), (256, 8, 8),
                                                  (512, 4, 4)]
    assert all((o >= 0).all() for o in outs)  # every stage ends with a ReLU
    assert isinstance(net.stage1[0], nn.MaxPool2d) and net.stage1[1].in_channels == 64
    extra = net.make_stage(3, 512, 1)
    convs = [m for m in extra if isinstance(m, nn.Conv2d)]
    assert not isinstance(extra[0], nn.MaxPool2d) and len(convs) == 4
    assert convs[0].in_channels == 512 and convs[0].bias.abs().max() > 0  # default init
    conv = net.stage3[1]  # 3x3, 512 out: std sqrt(2 / (9 * 512)), bias 0
    assert abs(conv.weight.std().item() - (2 / (9 * 512))**0.5) < 0.001
    assert not conv.bias.any()


@pytest.mark.parametrize('backbone, taps, last', [
    (lambda: CIFARMobileNetV2(out_indices=(0, 1, 2, 3)),
     [(12, 32, 32), (16, 16, 16), (48, 8, 8), (160, 4, 4)], 1280),
    (lambda: CIFARShuffleNetV1(out_indices=(0, 1, 2)), [(240, 16, 16), (480, 8, 8), (960, 4, 4)],
     960),
    (lambda: CIFARShuffleNetV2(out_indices=(0, 1, 2)), [(116, 16, 16), (232, 8, 8), (464, 4, 4)],
     1024),
])
def test_mobile_network_taps_and_outputs(backbone, taps, last):
    """The official taps f1..fL; the classifier pools the last stage (ShuffleNetV1) or the 1x1
    conv-BN-ReLU after it (MobileNetV2 ``conv2``, ShuffleNetV2 ``conv2``/``bn2``)."""
    torch.manual_seed(0)
    net = backbone().train()
    x = torch.randn(2, 3, 32, 32)
    if hasattr(net, 'forward_stages'):
        outs, stages = net.forward_stages(x)
        assert torch.allclose(outs[-1], net.conv2(stages[-1]))
    else:
        outs = stages = net(x)
    assert [tuple(t.shape[1:]) for t in stages] == taps
    assert outs[-1].shape[1] == last and torch.equal(net(x)[-1], outs[-1])
    assert [tuple(o.shape[1:]) for o in outs[:-1]] == taps[:-1]


def test_mobile_network_inits():
    """MobileNetV2: the official He fan-out / BN(1, 0) init in the network and its branch
    copies; ShuffleNetV1: PyTorch's default in the network (the official one has none), He in
    the branch copies (the official Auxiliary_Classifier init); ShuffleNetV2: default both."""
    torch.manual_seed(0)
    mbv2 = CIFARMobileNetV2()
    dw = mbv2.stage2[0][0].conv[3]  # 3x3 depthwise, 96 channels: std sqrt(2 / (9 * 96))
    assert dw.groups == dw.out_channels == 96
    assert abs(dw.weight.std().item() - (2 / (9 * 96))**0.5) < 0.004
    dw = mbv2.make_stage(3, 48, 1)[0][0].conv[3]  # 288 channels
    assert dw.stride == (1, 1) and abs(dw.weight.std().item() - (2 / (9 * 288))**0.5) < 0.002
    v1 = CIFARShuffleNetV1()
    default = v1.layer3[1].conv1  # grouped 1x1, 320 inputs per group: std 1/sqrt(3 * 320)
    assert abs(default.weight.std().item() - (1 / (3 * 320))**0.5) < 0.002
    copy = v1.make_stage(2, 960, 1)[0]
    assert copy.stride == 1 and copy.conv3.out_channels == 960  # residual, no concatenation
    assert abs(copy.conv1.weight.std().item() - (2 / 240)**0.5) < 0.003  # 1x1 to 240: He
    v2 = CIFARShuffleNetV2()
    down = v2.make_stage(2, 464, 1)[0]
    assert down.conv1.stride == (1, 1) and down.conv1.in_channels == 464
    assert abs(v2.conv2[0].weight.std().item() - (1 / (3 * 464))**0.5) < 0.002


def test_wrn_block_styles():
    """RepDistiller: stride in conv1, shortcut sees BN-ReLU'd input; kuangliu (FFSD): stride
    in conv2, shortcut on the raw input, conv bias and final BN momentum 0.9."""
    rep = WideResNet(16, 2)
    block = rep.layer2[0]
    assert block.conv1.stride == (2, 2) and block.conv2.stride == (1, 1)
    assert block.conv1.bias is None and rep.bn1.momentum == 0.1
    ffsd = WideResNet(16, 2, block_style='kuangliu', conv_bias=True, final_norm_momentum=0.9)
    block = ffsd.layer2[0]
    assert block.conv1.stride == (1, 1) and block.conv2.stride == (2, 2)
    assert block.conv1.bias is not None and ffsd.conv1.bias is not None
    assert ffsd.bn1.momentum == 0.9
    # the two shortcut conventions give different functions with equal weights
    ffsd_plain = WideResNet(16, 2, block_style='kuangliu')
    ffsd_plain.load_state_dict(rep.state_dict())
    x = torch.randn(1, 3, 16, 16)
    assert not torch.allclose(rep.eval()(x)[0], ffsd_plain.eval()(x)[0])


def test_official_init():
    torch.manual_seed(0)
    net = CIFARResNet(56)
    conv = net.layer3[0].conv1  # 3x3, 64 out channels: std sqrt(2 / (9 * 64))
    assert abs(conv.weight.std().item() - (2 / (9 * 64))**0.5) < 0.004
    assert all(torch.equal(m.weight, torch.ones_like(m.weight)) and
               torch.equal(m.bias, torch.zeros_like(m.bias))
               for m in net.modules() if isinstance(m, nn.BatchNorm2d))


@pytest.mark.parametrize('backbone', [CIFARResNet(20), WideResNet(16, 2)])
def test_make_stage_copies_structure(backbone):
    copy = build_stage(backbone, 1, stage_out_channels(backbone)[0], 2)
    assert copy is not backbone.layer2
    assert [(n, p.shape) for n, p in copy.named_parameters()] == \
        [(n, p.shape) for n, p in backbone.layer2.named_parameters()]
    extra = build_stage(backbone, 2, stage_out_channels(backbone)[2], 1)
    c = stage_out_channels(backbone)[2]
    assert tuple(extra(torch.randn(1, c, 8, 8)).shape) == (1, c, 8, 8)


def test_bad_arguments_name_the_field():
    with pytest.raises(ValueError, match='CIFARResNet.depth'):
        CIFARResNet(21)
    with pytest.raises(ValueError, match='WideResNet.depth'):
        WideResNet(20, 2)
    with pytest.raises(ValueError, match='CIFARVGG.depth'):
        CIFARVGG(12)
    with pytest.raises(ValueError, match='CIFARDenseNet.depth'):
        CIFARDenseNet(41)
    with pytest.raises(ValueError, match='CIFARGoogLeNet.out_indices'):
        CIFARGoogLeNet(out_indices=(3, ))
    with pytest.raises(ValueError, match='block_style'):
        WideResNet(16, 2, block_style='torchvision')
    with pytest.raises(ValueError, match='out_indices'):
        CIFARResNet(20, out_indices=(3, ))


def test_backbone_in_plain_image_classifier(mmpretrain_scope):
    from mmengine.registry import MODELS
    model = MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='mmselfkd.WideResNet', depth=10, widen_factor=1),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=100, in_channels=64)))
    assert tuple(model(torch.randn(2, 3, 16, 16), mode='tensor').shape) == (2, 100)
