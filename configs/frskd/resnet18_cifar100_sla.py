# FRSKD + SLA (official README: --aux sla --aux_lamb 1): 4-rotation joint-label heads on the
# backbone and on the self-teacher, distilled into both classifiers (MingiJi/FRSKD
# classification/distill_loss/sla.py).
_base_ = './resnet18_cifar100.py'

model = dict(sla_weight=1.0)
