# FRSKD (Ji et al., CVPR 2021) for detection: RetinaNet ResNet-50-FPN on COCO 2017 (12
# epochs). Everything but the self-distillation is the fair baseline
# configs/baseline/retinanet_r50_fpn_1x_coco_frskd-dense.py (mmdet's recipe and ImageNet
# init). The paper and the official code have no detection variant; this one
# (configs/frskd/README.md, "Segmentation and detection"): a BiFPN self-teacher refines the
# five FPN levels (width 1: 256 channels, as the FPN), a copy of the student's bbox_head
# (RetinaHead) on the refined levels is trained with the host loss, attention transfer on
# every level and a per-anchor KL of the classification maps, with the weights and schedule of
# the official segmentation variant: alpha 1, beta 50, T 1, off for the first 8 of 12 epochs,
# then the exp(-5(1-t)^2) ramp-up over the last 4.
_base_ = '../baseline/retinanet_r50_fpn_1x_coco_frskd-dense.py'

custom_imports = dict(imports=['mmselfkd'], allow_failed_imports=False)

model = dict(
    _delete_=True,
    type='mmselfkd.FRSKD',
    student={{_base_.model}},
    # teacher_head=None: the student's bbox_head config on the refined levels
    self_teacher=dict(type='mmselfkd.BiFPNSelfTeacher', width=1, depth=2),
    alpha=1.0,
    beta=50.0,
    temperature=1.0)

custom_hooks = [
    dict(type='mmselfkd.DistillRampupHook', delay=8, rampup=4, by_epoch=True),
    dict(type='mmselfkd.ExportDeployableHook'),
]
