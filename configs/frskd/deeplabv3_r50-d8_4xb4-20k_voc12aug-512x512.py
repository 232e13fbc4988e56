# FRSKD (Ji et al., CVPR 2021) for segmentation: DeepLabV3 ResNet-50-D8 on Pascal VOC 2012 +
# SBD aug (20k iterations). Everything but the self-distillation is the fair baseline
# configs/baseline/deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512_frskd-dense.py (mmseg's recipe
# and ImageNet init). The official segmentation variant (MingiJi/FRSKD segmentation/main.py,
# lines 118-142; configs/frskd/README.md, "Segmentation and detection"): a BiFPN self-teacher
# over the student's backbone maps, a teacher decode head of the student's type (ASPPHead) on
# the refined maps, attention transfer on every level, a pixel KL at label resolution over
# B*H*W with T = 1; alpha 1, beta 50, both switched off for the first 40/60 of training and
# ramped up with exp(-5(1-t)^2) over the last 20/60 (13333 + 6667 of 20000 iterations).
# Self-teacher width 1: the ResNet-50 maps are already 256-2048 channels wide, the official
# width 2 would quadruple the self-teacher.
_base_ = '../baseline/deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512_frskd-dense.py'

custom_imports = dict(imports=['mmselfkd'], allow_failed_imports=False)

model = dict(
    _delete_=True,
    type='mmselfkd.FRSKD',
    student={{_base_.model}},
    # in_channels are read from the student's maps (1/4, 1/8, 1/8, 1/8 with the D8 backbone);
    # teacher_head=None: the student's decode_head config on the refined maps
    self_teacher=dict(type='mmselfkd.BiFPNSelfTeacher', width=1, depth=2),
    alpha=1.0,
    beta=50.0,
    temperature=1.0)

custom_hooks = [
    dict(type='mmselfkd.DistillRampupHook', delay=13333, rampup=6667, by_epoch=False),
    dict(type='mmselfkd.ExportDeployableHook'),
]
