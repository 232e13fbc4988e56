"""Task adapters: what FRSKD needs from a classifier, a segmentor or a detector.

:class:`~mmselfkd.models.algorithms.FRSKD` holds the method (self-teacher, loss terms,
weights, gradient routing) once; an adapter answers the task-specific questions through the
host's public pieces:

* which maps the self-teacher (a pure neck: maps in, refined maps out) refines
  (``stage_features``),
* the host's own losses and the student outputs that are distilled, from one head forward
  (``student_forward``),
* the teacher head on the refined maps, its outputs and losses (``build_teacher_head``,
  ``teacher_forward``, ``teacher_loss``),
* the output distillation (``output_distillation``) and the default weights.

:func:`build_task_adapter` picks the adapter by the student's base class (mmseg
``BaseSegmentor``, mmdet ``BaseDetector``, else a classifier), so a segmentor or detector
registered from another package gets the adapter of its task.

* Classification (mmpretrain ``ImageClassifier``): the self-teacher refines the backbone
  stages; the teacher head is the official self-teacher classifier on the coarsest refined
  map (:class:`~mmselfkd.models.self_teachers.SelfTeacherClassifier`, FRSKD
  ``classification/models/bifpnc.py``), trained with the student head's loss; ``KL_T`` over
  the batch (FRSKD ``classification/distill_loss/KD.py``).

Design of the dense variants, after the official segmentation code (FRSKD ``segmentation/``,
loss in ``main.py`` lines 137-142):

* Segmentation (mmseg ``EncoderDecoder``): the self-teacher refines the maps of
  ``extract_feat`` (backbone, or neck if any); the teacher head is a decode head of the
  student's type and config reading the same ``in_index`` of the refined maps. The pixel KL
  compares the student and teacher logits bilinearly resized to the label size, averaged over
  ``B*H*W`` with ``T = 1``: the official code computes it on the full-resolution outputs
  (``segmentation/utils/distill.py`` lines 10-15), and mmseg's own loss resizes the logits
  the same way, so the KL sees the pixels the cross-entropy sees (padding included, as every
  pixel of the official crops).
* Detection (mmdet one- and two-stage): the self-teacher refines the FPN levels (what the
  detection heads read); the teacher head is a copy of the dense head that reads every level
  (``bbox_head`` of a one-stage detector, ``rpn_head`` of a two-stage one), trained with the
  host's own loss and targets. The paper has no detection variant; the dense head is the
  detection counterpart of the segmentation head: its classification map is position-aligned
  between student and teacher (same anchors on same-size levels), so the distillation is the
  segmentation pixel KL per anchor: a Bernoulli KL per class for sigmoid classifiers (RetinaNet
  focal loss, RPN objectness), summed over classes, or a softmax KL for softmax classifiers,
  averaged over all anchors of all levels. The RoI head is not copied: its inputs are the
  student's sampled proposals, not the refined maps' own predictions, and a second RoI head
  would add a full second stage for a signal the refined FPN maps already carry through the
  attention transfer on every level.
"""
import copy
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import DefaultScope
from torch import Tensor, nn

from mmselfkd.models.losses import bernoulli_kl, kl_divergence
from mmselfkd.models.utils import backbone_outputs, classifier_logits, head_losses
from mmselfkd.utils.errors import ConfigError
from .base import build_module


def add_prefix(losses: Dict[str, Tensor], prefix: str) -> Dict[str, Tensor]:
    return {f'{prefix}.{k}': v for k, v in losses.items()}


def build_in_scope(cfg: dict, scope: str, field: str) -> nn.Module:
    """Build a host-type config (decode or dense head) in the host library's scope."""
    try:
        with DefaultScope.overwrite_default_scope(scope):
            return ROOT_MODELS.build(cfg)
    except KeyError as error:
        raise KeyError(f'{field}: {error}') from None


class TaskAdapter:
    """The task-specific half of FRSKD; subclasses wrap one kind of host model.

    Args:
        student: the deployable host model.
    """

    #: task name used in messages
    task = ''
    #: registry scope of the host library, where the teacher head's type resolves
    scope = ''
    #: default ``alpha`` (output KL), ``beta`` (attention transfer) and ``temperature``
    default_weights: Dict[str, float] = {}
    #: side of the square zero image used to read the channels and sizes of the maps
    probe_size = 64
    #: the config fields that decide which maps the self-teacher refines
    features_field = ''

    def __init__(self, student: nn.Module):
        self.student = student

    def stage_features(self, inputs: Tensor) -> List[Tensor]:
        raise NotImplementedError

    def student_forward(self, features: Sequence[Tensor],
                        data_samples: list) -> Tuple[Dict[str, Tensor], Any]:
        """The host's losses and the student outputs to distil, from one head forward."""
        raise NotImplementedError

    def build_teacher_head(self, cfg: Optional[dict], student_cfg: Optional[dict],
                           refined_channels: List[int]) -> nn.Module:
        """The teacher head on the refined maps (``model.teacher_head``, or the default
        derived from the student)."""
        raise NotImplementedError

    def teacher_forward(self, head: nn.Module, refined: Sequence[Tensor]) -> Any:
        raise NotImplementedError

    def teacher_loss(self, head: nn.Module, outputs: Any,
                     data_samples: list) -> Dict[str, Tensor]:
        raise NotImplementedError

    def output_distillation(self, student_outputs: Any, teacher_outputs: Any,
                            data_samples: Optional[list], temperature: float) -> Tensor:
        """Unweighted distillation of the (already detached) teacher outputs."""
        raise NotImplementedError

    def detach(self, outputs: Any) -> Any:
        """Teacher outputs (a tensor, or nested lists/tuples of tensors) cut from the graph."""
        if isinstance(outputs, Tensor):
            return outputs.detach()
        return type(outputs)(self.detach(o) for o in outputs)

    def _head_cfg(self, cfg: Optional[dict], student_cfg: Optional[dict],
                  key: str) -> dict:
        if cfg is not None:
            return copy.deepcopy(cfg)
        if student_cfg is None or student_cfg.get(key) is None:
            raise ConfigError(f'model.teacher_head must be given when model.student is a built '
                             f'module or has no {key}: FRSKD copies model.student.{key}')
        return copy.deepcopy(dict(student_cfg[key]))


class ClassificationAdapter(TaskAdapter):
    """mmpretrain ``ImageClassifier``: backbone stages in, a self-teacher classifier
    (:class:`SelfTeacherClassifier` by default) on the coarsest refined map, ``KL_T`` over
    the batch."""

    task = 'classification'
    default_weights = dict(alpha=2.0, beta=100.0, temperature=4.0)  # official README command
    features_field = 'model.student.backbone.out_indices'

    def __init__(self, student: nn.Module):
        super().__init__(student)
        if getattr(student, 'head', None) is None:
            raise ConfigError('model.student must be a classifier with a head (ImageClassifier '
                             'with backbone, neck and head)')

    def stage_features(self, inputs: Tensor) -> List[Tensor]:
        """The backbone stage maps ``F_i`` (the taps of the attention transfer)."""
        return list(backbone_outputs(self.student, inputs))

    def student_forward(self, features, data_samples):
        logits = classifier_logits(self.student, features)
        return head_losses(self.student, logits, data_samples), logits

    def build_teacher_head(self, cfg, student_cfg, refined_channels):
        """``model.teacher_head`` (default ``SelfTeacherClassifier``) with ``in_channels``
        of the coarsest refined map and the student head's ``num_classes`` filled in."""
        cfg = copy.deepcopy(cfg) if cfg is not None else dict(type='SelfTeacherClassifier')
        cfg.setdefault('in_channels', refined_channels[-1])
        num_classes = getattr(self.student.head, 'num_classes', None)
        if num_classes is not None:
            cfg.setdefault('num_classes', num_classes)
        elif 'num_classes' not in cfg:
            raise ConfigError('model.teacher_head.num_classes must be set: the student head '
                             f'{type(self.student.head).__name__} has no num_classes')
        return build_module(cfg, field='teacher_head')

    def teacher_forward(self, head, refined):
        return head(refined[-1])

    def teacher_loss(self, head, outputs, data_samples):
        return head_losses(self.student, outputs, data_samples)

    def output_distillation(self, student_outputs, teacher_outputs, data_samples, temperature):
        return kl_divergence(student_outputs, teacher_outputs, temperature)


class DenseAdapter(TaskAdapter):
    """Shared parts of the segmentation and detection adapters: ``extract_feat`` maps in, a
    host head on the refined maps."""

    default_weights = dict(alpha=1.0, beta=50.0, temperature=1.0)  # official segmentation

    def stage_features(self, inputs: Tensor) -> List[Tensor]:
        return list(self.student.extract_feat(inputs))


class SegmentationAdapter(DenseAdapter):
    """mmseg ``EncoderDecoder``: decode head forward once, ``loss_by_feat`` and the auxiliary
    heads of the host; a teacher decode head of the student's type on the refined maps; the
    official pixel KL (FRSKD ``segmentation/utils/distill.py``)."""

    task = 'segmentation'
    scope = 'mmseg'
    features_field = 'model.student.backbone.out_indices (and model.student.neck)'

    def __init__(self, student: nn.Module):
        super().__init__(student)
        if not isinstance(getattr(student, 'decode_head', None), nn.Module) or isinstance(
                student.decode_head, nn.ModuleList):
            raise ConfigError('model.student must be an mmseg EncoderDecoder with one decode '
                             'head (cascade segmentors are not supported)')

    def student_forward(self, features, data_samples):
        head = self.student.decode_head
        logits = head(features)
        losses = add_prefix(head.loss_by_feat(logits, data_samples), 'decode')
        if self.student.with_auxiliary_head:
            losses.update(self.student._auxiliary_head_forward_train(features, data_samples))
        return losses, logits

    def build_teacher_head(self, cfg, student_cfg, refined_channels):
        cfg = self._head_cfg(cfg, student_cfg, 'decode_head')
        in_index = cfg.get('in_index', -1)
        if isinstance(in_index, (list, tuple)):
            channels: Union[int, List[int]] = [refined_channels[i] for i in in_index]
        else:
            channels = refined_channels[in_index]
        cfg['in_channels'] = channels
        return build_in_scope(cfg, self.scope, 'model.teacher_head')

    def teacher_forward(self, head, refined):
        return head(list(refined))

    def teacher_loss(self, head, outputs, data_samples):
        return add_prefix(head.loss_by_feat(outputs, data_samples), 'decode')

    def output_distillation(self, student_outputs, teacher_outputs, data_samples, temperature):
        """Pixel KL on the logits resized to the label size, averaged over ``B*H*W``."""
        from mmseg.models.utils import resize  # mmseg and mmdet load only for their tasks
        size = data_samples[0].gt_sem_seg.data.shape[-2:]
        align_corners = self.student.decode_head.align_corners
        student = resize(student_outputs, size=size, mode='bilinear', align_corners=align_corners)
        teacher = resize(teacher_outputs, size=size, mode='bilinear', align_corners=align_corners)
        return kl_divergence(student, teacher, temperature, reduction='pixel')


class DetectionAdapter(DenseAdapter):
    """mmdet one-stage (``bbox_head``) and two-stage (``rpn_head`` + ``roi_head``) detectors:
    the dense head forward once with the host's ``loss_by_feat`` (and, two-stage, its proposals
    for the host's RoI head); a teacher copy of the dense head on the refined FPN levels; the
    per-anchor classification KL (see the module docstring)."""

    task = 'detection'
    scope = 'mmdet'
    probe_size = 256
    features_field = 'model.student.neck'

    def __init__(self, student: nn.Module):
        super().__init__(student)
        self.two_stage = getattr(student, 'rpn_head', None) is not None
        if self.two_stage and getattr(student, 'roi_head', None) is None:
            raise ConfigError('model.student: a detector with an rpn_head needs a roi_head')
        if not self.two_stage and getattr(student, 'bbox_head', None) is None:
            raise ConfigError('model.student must be an mmdet detector with a bbox_head '
                             '(one-stage) or an rpn_head and a roi_head (two-stage)')

    @property
    def dense_head(self) -> nn.Module:
        return self.student.rpn_head if self.two_stage else self.student.bbox_head

    def _dense_targets(self, data_samples: list) -> Tuple[list, list, list]:
        """Ground truth of the dense head: class-agnostic (label 0) for an RPN, as mmdet's
        ``TwoStageDetector.loss``."""
        from mmdet.models.utils import unpack_gt_instances
        if self.two_stage:
            data_samples = copy.deepcopy(data_samples)
            for sample in data_samples:
                sample.gt_instances.labels = torch.zeros_like(sample.gt_instances.labels)
        gt_instances, gt_instances_ignore, img_metas = unpack_gt_instances(data_samples)
        return gt_instances, img_metas, gt_instances_ignore

    def _dense_loss(self, head: nn.Module, outputs: tuple, targets: tuple) -> Dict[str, Tensor]:
        losses = head.loss_by_feat(*outputs, *targets)
        if self.two_stage:  # mmdet's renaming, so RPN and RoI losses do not collide
            losses = {(f'rpn_{k}' if 'loss' in k and 'rpn' not in k else k): v
                      for k, v in losses.items()}
        return losses

    def student_forward(self, features, data_samples):
        features = tuple(features)
        targets = self._dense_targets(data_samples)
        outputs = self.dense_head(features)
        losses = self._dense_loss(self.dense_head, outputs, targets)
        if self.two_stage:
            train_cfg, test_cfg = self.student.train_cfg, self.student.test_cfg
            proposal_cfg = train_cfg.get('rpn_proposal', test_cfg.rpn)
            proposals = self.dense_head.predict_by_feat(
                *outputs, batch_img_metas=targets[1], cfg=proposal_cfg)
            losses.update(self.student.roi_head.loss(features, proposals, data_samples))
        return losses, outputs

    def build_teacher_head(self, cfg, student_cfg, refined_channels):
        key = 'rpn_head' if self.two_stage else 'bbox_head'
        cfg = self._head_cfg(cfg, student_cfg, key)
        if len(set(refined_channels)) != 1:
            raise ValueError(f'the teacher {key} reads every refined level with one '
                             f'in_channels; the self-teacher gives {refined_channels}')
        # the detector hands its (rpn) train/test cfg to the head it builds; so do we
        cfg.update(in_channels=refined_channels[0], train_cfg=self.dense_head.train_cfg,
                   test_cfg=self.dense_head.test_cfg)
        return build_in_scope(cfg, self.scope, 'model.teacher_head')

    def teacher_forward(self, head, refined):
        return head(tuple(refined))

    def teacher_loss(self, head, outputs, data_samples):
        return self._dense_loss(head, outputs, self._dense_targets(data_samples))

    def output_distillation(self, student_outputs, teacher_outputs, data_samples, temperature):
        """Per-anchor KL of the classification maps (``outputs[0]`` of the dense heads, one
        ``(B, A*K, H, W)`` map per level), averaged over every anchor of every level."""
        head = self.dense_head
        num_classes = head.cls_out_channels

        def rows(levels: Sequence[Tensor]) -> Tensor:
            return torch.cat([level.permute(0, 2, 3, 1).reshape(-1, num_classes)
                              for level in levels])

        student, teacher = rows(student_outputs[0]), rows(teacher_outputs[0])
        if getattr(head, 'use_sigmoid_cls', False):
            return bernoulli_kl(student, teacher, temperature).sum(dim=1).mean()
        return kl_divergence(student, teacher, temperature)


def _is_instance(module: nn.Module, package: str, name: str) -> bool:
    """``isinstance(module, package.name)`` without importing ``package`` for models of other
    libraries: a subclass of ``package.name`` exists only once ``package`` is imported."""
    loaded = sys.modules.get(package)
    return loaded is not None and isinstance(module, getattr(loaded, name))


def build_task_adapter(student: nn.Module) -> TaskAdapter:
    """The adapter of ``student``'s kind: an mmseg ``BaseSegmentor``, an mmdet
    ``BaseDetector``, else a classifier, wherever its class is registered."""
    if _is_instance(student, 'mmseg.models.segmentors', 'BaseSegmentor'):
        return SegmentationAdapter(student)
    if _is_instance(student, 'mmdet.models.detectors', 'BaseDetector'):
        return DetectionAdapter(student)
    return ClassificationAdapter(student)
