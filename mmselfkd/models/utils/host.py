"""What the algorithms run of a host model, in one place.

The methods need more from the deployable mmpretrain ``ImageClassifier`` than its ``loss``
and ``predict`` give: the backbone's maps and the logits of one forward, the head's own loss
on logits computed once, and the scores of extra heads beside the deployed predictions. These
helpers run the classifier's own modules (backbone, neck, head and the head's loss module),
so whatever the host config sets (another neck, a label-smoothing loss, soft mixup labels)
reaches every method, and the host's private APIs (``head._get_loss``) are used here only.
"""
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import is_model_wrapper
from torch import Tensor, nn

#: a classification loss ``f(logits, labels)``
LabelLoss = Callable[[Tensor, Tensor], Tensor]


def unwrap(module: nn.Module) -> nn.Module:
    """The module inside a (Separate)DDP wrapper, or the module itself."""
    return module.module if is_model_wrapper(module) else module


def backbone_outputs(classifier: nn.Module, inputs: Tensor) -> Tuple[Tensor, ...]:
    """What the backbone returns (its ``out_indices``): the neck's input and the stage maps
    the methods distil (``extract_feat(inputs, stage='backbone')``)."""
    return tuple(classifier.backbone(inputs))


def backbone_outputs_and_stage_maps(classifier: nn.Module,
                                    inputs: Tensor) -> Tuple[Tuple[Tensor, ...], List[Tensor]]:
    """One backbone pass: its outputs and the map of every stage, where auxiliary branches
    attach. A backbone with ``forward_stages`` (mmselfkd's CIFAR backbones) gives both (a
    WRN's last stage map is taken before its final BN + ReLU); for others both are the
    outputs, so ``out_indices`` must list every stage."""
    backbone = classifier.backbone
    if hasattr(backbone, 'forward_stages'):
        outputs, stage_maps = backbone.forward_stages(inputs)
        return tuple(outputs), list(stage_maps)
    outputs = tuple(backbone(inputs))
    return outputs, list(outputs)


def _neck(classifier: nn.Module, backbone_outputs: Sequence[Tensor]):
    backbone_outputs = tuple(backbone_outputs)
    return classifier.neck(backbone_outputs) if classifier.with_neck else backbone_outputs


def classifier_logits(classifier: nn.Module, backbone_outputs: Sequence[Tensor]) -> Tensor:
    """The classifier's logits from its backbone outputs (neck, then head), without another
    backbone pass."""
    return classifier.head(_neck(classifier, backbone_outputs))


def classifier_predictions(classifier: nn.Module, backbone_outputs: Sequence[Tensor],
                           data_samples: Optional[list] = None) -> list:
    """The classifier's ``predict`` results from its backbone outputs."""
    return classifier.head.predict(_neck(classifier, backbone_outputs), data_samples)


def forward_with_backbone_outputs(classifier: nn.Module,
                                  inputs: Tensor) -> Tuple[Tuple[Tensor, ...], Tensor]:
    """``(backbone outputs, logits)`` of one ``classifier(inputs, mode='tensor')`` call.

    The call goes through the classifier's ``forward``, so that a DDP-wrapped classifier
    synchronises its gradients; a forward hook on the backbone keeps its outputs.
    """
    captured: List[Tuple[Tensor, ...]] = []
    handle = unwrap(classifier).backbone.register_forward_hook(
        lambda module, args, output: captured.append(tuple(output)))
    try:
        logits = classifier(inputs, mode='tensor')
    finally:
        handle.remove()
    return captured[0], logits


def head_losses(classifier: nn.Module, logits: Tensor, data_samples: list) -> Dict[str, Tensor]:
    """The head's own loss on ``logits`` computed once: its loss module and label handling
    (hard ``gt_label`` or the soft ``gt_score`` of batch augments), and its accuracy if
    ``cal_acc``. The loss is named ``loss_cls``."""
    losses = unwrap(classifier).head._get_loss(logits, data_samples)
    losses['loss_cls'] = losses.pop('loss')
    return losses


def head_label_loss(classifier: nn.Module) -> LabelLoss:
    """The head's loss module as ``f(logits, labels)`` for hard labels, averaged over the
    rows given (what ``head_losses`` computes, for rows without data samples)."""
    loss_module = unwrap(classifier).head.loss_module
    return lambda logits, labels: loss_module(logits, labels, avg_factor=logits.size(0))


@torch.no_grad()
def probe_feature_maps(model: nn.Module, size: int, in_channels: int = 3,
                       extract: Optional[Callable[[Tensor], Sequence[Tensor]]] = None
                       ) -> List[Tensor]:
    """The maps ``extract`` (default: ``model`` itself) gives for one zero image of
    ``size`` x ``size``, run with ``model`` in eval mode (its BatchNorm statistics stay
    untouched) and without autograd; used to read channels and sizes at build time."""
    was_training = model.training
    model.eval()
    try:
        return list((extract or model)(torch.zeros(1, in_channels, size, size)))
    finally:
        model.train(was_training)


def add_head_scores(predictions: list, logits: Dict[str, Tensor]) -> list:
    """Store ``softmax(logits[head])`` as the field ``f'{head}_score'`` of every data sample
    (for :class:`~mmselfkd.evaluation.MultiHeadAccuracy`); returns ``predictions``."""
    for head, head_logits in logits.items():
        for sample, score in zip(predictions, F.softmax(head_logits, dim=1)):
            sample.set_field(score, f'{head}_score')
    return predictions
