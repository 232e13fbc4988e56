"""FRSKD: Feature Refinement via Self-Knowledge Distillation (Ji et al., CVPR 2021)."""
import copy
import inspect
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmselfkd.models.losses import attention_transfer, kl_divergence
from mmselfkd.models.utils import NUM_ROTATIONS, joint_labels, probe_feature_maps, rotate_batch
from mmselfkd.registry import MODELS
from mmselfkd.utils.errors import ConfigError
from .base import BaseSelfKDAlgorithm, build_module, resolve_host_config
from .task_adapters import ClassificationAdapter, TaskAdapter, build_task_adapter


@MODELS.register_module()
class FRSKD(BaseSelfKDAlgorithm):
    """FRSKD (Ji et al., "Refine Myself by Teaching Myself: Feature Refinement via
    Self-Knowledge Distillation", CVPR 2021, arXiv 2103.08273) for mmpretrain classifiers,
    mmseg segmentors and mmdet detectors. Official code: MingiJi/FRSKD; the file and line
    numbers below refer to its commit 98b87e5.

    A BiFPN self-teacher (a neck) refines the student's multi-level maps ``F_i`` into
    ``G_i``; a teacher head on ``G_i`` gives the teacher outputs ``z_t``; the student's own
    head gives ``z_s``. The task-specific parts (which maps, which heads, which output
    distillation) come from a task adapter (:mod:`.task_adapters`), chosen by the student's
    base class. Loss (``classification/utils.py`` lines 58-66, ``distill_loss/KD.py`` and
    ``distill_loss/AT.py``)::

        <host losses>                 student's own head(s) and loss(es): loss_cls,
                                      decode.* + aux.* (mmseg), loss_cls/loss_bbox or
                                      loss_rpn_* + RoI losses (mmdet)
        self_teacher.<head losses>    the teacher head's own loss on the same targets
        distill.loss_kl = f * alpha * KL_T(z_s || sg z_t)
        distill.loss_at = f * beta * sum_i AT(F_i, sg G_i)

    ``F_i`` are not detached, so the self-teacher's loss also trains the student's backbone;
    the self-teacher and teacher head receive no gradient from the distillation terms (the
    official ``DistillKL`` and ``Attention`` detach their targets). The student head runs
    once; its outputs feed both its loss and the KL. ``f`` (``loss_weight_factor``, 1 by
    default) is set by :class:`~mmselfkd.engine.hooks.DistillRampupHook` for the official
    segmentation schedule (``segmentation/main.py`` lines 122-131: 0 during a warm-up, then
    ``exp(-5(1-t)^2)``).

    Tasks:

    * classifier: maps = backbone stages; teacher head = the official self-teacher
      classifier on the last refined map
      (:class:`~mmselfkd.models.self_teachers.SelfTeacherClassifier`, trained with the
      student head's loss); ``KL_T`` over the batch (``'batchmean'``); defaults alpha 2,
      beta 100, T 4 (official README command).
    * segmentor: maps = ``extract_feat``; teacher head = a decode head of the student's type;
      pixel KL at label resolution over ``B*H*W``; defaults alpha 1, beta 50, T 1 (official
      segmentation README and ``segmentation/main.py`` lines 137-142).
    * detector: maps = the FPN levels; teacher head = a copy of the dense head
      (``bbox_head``/``rpn_head``); per-anchor classification KL; defaults as segmentation.
      The design and its reasons are in :mod:`.task_adapters`.

    Classification variants of the official repository:

    * mixup / CutMix: set ``student.train_cfg.augments``; mmpretrain's batch augments mix the
      images and turn the labels into soft ``gt_score``; both CE terms use them, KD and AT are
      computed on the mixed images, as in the official ``mixed_criterion``
      (``classification/utils.py`` lines 34-56 and 151-187).
    * SLA (``sla_weight``, the official ``aux_lamb``): the official ``distill_loss/sla.py``.
      A second forward of the 4-rotation batch (separately from the clean batch, so BatchNorm
      sees the same two batches as the official code) feeds two joint class x rotation heads,
      ``sla_heads.student`` on the pooled last backbone map and ``sla_heads.self_teacher`` on
      the pooled last refined map; their rotation-aggregated logits ``a``, ``b`` give::

        sla.loss_joint_student      = CE(joint_student, 4y + k)
        sla.loss_joint_self_teacher = CE(joint_self_teacher, 4y + k)
        sla.loss_kl                 = sla_weight * (KL_T(z_s || sg a) + KL_T(z_t || sg b))

      and the distillation terms use ``[z_s; a] || [z_t; b]`` (2B rows) and the features
      ``[F_i; F_i(rotated)]`` vs ``[G_i; G_i(rotated)]`` (5B rows).

    Inference, validation and export use the student only (``student.*`` keys): a plain
    ImageClassifier / EncoderDecoder / detector checkpoint after ``tools/export.py``.

    Args:
        student: config of the deployable mmpretrain ``ImageClassifier``, mmseg
            ``EncoderDecoder`` or mmdet detector; it must give at least two maps, each of the
            size of the previous one or half of it (``backbone.out_indices``, neck).
        self_teacher: config of the self-teacher, e.g.
            ``dict(type='mmselfkd.BiFPNSelfTeacher', width=2, depth=2)``. ``in_channels`` is
            filled in from the student (or checked against it if given).
        teacher_head: config of the teacher head on the refined maps. Defaults to None:
            for a classifier ``dict(type='mmselfkd.SelfTeacherClassifier')``, for a segmentor
            or detector the student's ``decode_head`` / ``bbox_head`` / ``rpn_head`` config;
            its ``in_channels`` (and a classifier's ``num_classes``) are filled in.
        alpha: weight of the output distillation. Defaults to None: 2 for classifiers, 1 for
            segmentors and detectors.
        beta: weight of the attention transfer. Defaults to None: 100 for classifiers, 50 for
            segmentors and detectors.
        temperature: KD temperature ``T``. Defaults to None: 4 for classifiers, 1 otherwise.
        sla_weight: classifiers only: enables the SLA variant with this weight (``aux_lamb``;
            1 in the README). Defaults to None (off).
        data_preprocessor: injected by the Runner; handed to the student.
        init_cfg: initialisation config of the wrapper.
        memory_saving: recompute the self-teacher (node by node) and its head in the
            backward pass instead of keeping their activations; same losses and gradients.
            Defaults to False.
        channels_last: run the training step in the channels-last memory format; None
            (default): on the CPU (:meth:`~.BaseSelfKDAlgorithm.step_layout`).
    """

    def __init__(self,
                 student: Union[dict, nn.Module],
                 self_teacher: Union[dict, nn.Module],
                 teacher_head: Optional[dict] = None,
                 alpha: Optional[float] = None,
                 beta: Optional[float] = None,
                 temperature: Optional[float] = None,
                 sla_weight: Optional[float] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 memory_saving: bool = False,
                 channels_last: Optional[bool] = None):
        student = resolve_host_config(student, 'student')  # its heads are read below
        student_cfg = copy.deepcopy(dict(student)) if isinstance(student, dict) else None
        super().__init__(student, data_preprocessor=data_preprocessor, init_cfg=init_cfg,
                         memory_saving=memory_saving, channels_last=channels_last)
        self.adapter: TaskAdapter = build_task_adapter(self.student)
        weights = dict(self.adapter.default_weights)
        for name, value in (('alpha', alpha), ('beta', beta), ('temperature', temperature)):
            if value is not None:
                weights[name] = value
        for name in ('alpha', 'beta'):
            if weights[name] < 0:
                raise ConfigError(f'model.{name} must be >= 0, got {weights[name]}')
        if weights['temperature'] <= 0:
            raise ConfigError(f'model.temperature must be > 0, got {weights["temperature"]}')
        self.alpha, self.beta = weights['alpha'], weights['beta']
        self.temperature = weights['temperature']
        #: multiplies alpha and beta; DistillRampupHook sets it (1 without the hook)
        self.loss_weight_factor = 1.0

        stage_channels = self._probe_stage_channels()
        self.self_teacher = self._build_self_teacher(self_teacher, stage_channels)
        self.teacher_head = self.adapter.build_teacher_head(teacher_head, student_cfg,
                                                            self.self_teacher.out_channels)
        self._recompute_by_node = 'recompute' in inspect.signature(
            self.self_teacher.forward).parameters

        self.sla_weight = sla_weight
        self.sla_heads: Optional[nn.ModuleDict] = None
        if sla_weight is not None:
            self._check_sla_compatible()
            num_joint = NUM_ROTATIONS * self.student.head.num_classes
            self.sla_heads = nn.ModuleDict({
                'student': nn.Linear(stage_channels[-1], num_joint),
                'self_teacher': nn.Linear(self.self_teacher.out_channels[-1], num_joint)})

    # ----------------------------------------------------------------- build-time checks
    def _probe_stage_channels(self) -> List[int]:
        """Run the student's feature extractor once on a zero image to read its maps."""
        size = self.adapter.probe_size
        stages = probe_feature_maps(self.student, size, self._input_channels(),
                                    extract=self.adapter.stage_features)
        field = self.adapter.features_field
        if len(stages) < 2 or any(not isinstance(s, Tensor) or s.dim() != 4 for s in stages):
            raise ValueError(f'FRSKD needs several (N, C, H, W) maps from the student: set '
                             f'{field} to give at least two, e.g. out_indices=(0, 1, 2, 3) '
                             'for ResNet')
        sizes = [tuple(s.shape[-2:]) for s in stages]
        for finer, coarser in zip(sizes, sizes[1:]):
            half = tuple(math.ceil(side / 2) for side in finer)
            if coarser not in (finer, half):
                raise ValueError(
                    'the BiFPN self-teacher needs each map at half the resolution of the '
                    f'previous one (or the same); {field} gives sizes {sizes} for a '
                    f'{size}x{size} input')
        return [s.shape[1] for s in stages]

    def _input_channels(self) -> int:
        """Image channels: those the preprocessor normalises, else RGB."""
        mean = getattr(self.data_preprocessor, 'mean', None)
        return mean.shape[0] if isinstance(mean, Tensor) else 3

    def _build_self_teacher(self, cfg: Union[dict, nn.Module],
                            stage_channels: List[int]) -> nn.Module:
        if isinstance(cfg, dict):
            if 'num_classes' in cfg:
                raise ConfigError(
                    'model.self_teacher.num_classes must not be set: the self-teacher refines '
                    'maps; the teacher head (model.teacher_head) classifies them, with the '
                    "classes of the student's head")
            cfg = copy.deepcopy(cfg)
            given = cfg.setdefault('in_channels', stage_channels)
            if list(given) != stage_channels:
                raise ConfigError(
                    f'model.self_teacher.in_channels={list(given)} does not match the channels '
                    f'{stage_channels} of the maps the student gives '
                    f'({self.adapter.features_field}); fix it or leave it out to infer it')
        module = build_module(cfg, field='self_teacher')
        if list(getattr(module, 'in_channels', stage_channels)) != stage_channels:
            raise ConfigError(f'model.self_teacher expects stage channels {module.in_channels}, '
                             f'but the student gives {stage_channels}')
        return module

    def _check_sla_compatible(self) -> None:
        if not isinstance(self.adapter, ClassificationAdapter):
            raise ConfigError('model.sla_weight (self-supervised label augmentation) is for '
                             f'classifiers only, not for a {self.adapter.task} student')
        if getattr(self.data_preprocessor, 'batch_augments', None) is not None:
            raise ConfigError('model.sla_weight cannot be combined with '
                             'model.student.train_cfg.augments: SLA needs hard labels and the '
                             'official code never combines SLA with mixup/CutMix')

    # ----------------------------------------------------------------------- losses
    def extract_stage_features(self, inputs: Tensor) -> List[Tensor]:
        """The student maps ``F_i`` the self-teacher refines (and the AT taps)."""
        return self.adapter.stage_features(inputs)

    def refine(self, features: Sequence[Tensor]) -> List[Tensor]:
        """The refined maps ``G_i``. With ``memory_saving`` they are recomputed in the
        backward pass: node by node for a self-teacher whose ``forward`` takes a
        ``recompute`` function (:class:`~mmselfkd.models.self_teachers.BiFPNSelfTeacher`),
        so that only one node's activations are alive at a time; any other self-teacher is
        recomputed whole."""
        if self._recompute_by_node:
            return self.self_teacher(list(features), recompute=self.run_training_only)
        return self.run_training_only(lambda *maps: self.self_teacher(list(maps)), *features,
                                      modules=[self.self_teacher])

    def self_teacher_forward(self, features: Sequence[Tensor]) -> Tuple[List[Tensor], Any]:
        """Refined maps ``G_i`` and the teacher head's outputs ``z_t`` on them (each
        recomputed in the backward pass with ``memory_saving``)."""
        refined = self.refine(features)
        outputs = self.run_training_only(
            lambda *maps: self.adapter.teacher_forward(self.teacher_head, list(maps)),
            *refined, modules=[self.teacher_head])
        return refined, outputs

    def teacher_loss(self, teacher_outputs: Any, data_samples: List) -> Dict[str, Tensor]:
        """The teacher head's own loss, prefixed ``self_teacher.``."""
        losses = self.adapter.teacher_loss(self.teacher_head, teacher_outputs, data_samples)
        return {f'self_teacher.{k}': v for k, v in losses.items()}

    def distill_losses(self, student_outputs: Any, teacher_outputs: Any,
                       student_features: Sequence[Tensor], teacher_features: Sequence[Tensor],
                       data_samples: Optional[List] = None) -> Dict[str, Tensor]:
        """``f * alpha * KL_T(z_s || sg z_t)`` and ``f * beta * sum_i AT(F_i, sg G_i)``."""
        factor = self.loss_weight_factor
        kl = self.adapter.output_distillation(student_outputs,
                                              self.adapter.detach(teacher_outputs),
                                              data_samples, self.temperature)
        at = sum(attention_transfer(f, g.detach())
                 for f, g in zip(student_features, teacher_features))
        return {'distill.loss_kl': factor * self.alpha * kl,
                'distill.loss_at': factor * self.beta * at}

    def loss(self, inputs: Tensor, data_samples: List) -> Dict[str, Tensor]:
        inputs = self.step_layout(inputs)
        if self.sla_heads is not None:
            return self._loss_with_sla(inputs, data_samples)
        features = self.extract_stage_features(inputs)
        losses, student_outputs = self.adapter.student_forward(features, data_samples)
        refined, teacher_outputs = self.self_teacher_forward(features)
        losses.update(self.teacher_loss(teacher_outputs, data_samples))
        losses.update(self.distill_losses(student_outputs, teacher_outputs, features, refined,
                                          data_samples))
        return losses

    @staticmethod
    def aggregate_rotations(joint_logits: Tensor) -> Tensor:
        """``mean_k joint[k::4, k::4]``: the class logits of each image read from the row of
        its rotation ``k`` and the columns of label ``4c + k``; ``(4B, 4K) -> (B, K)``."""
        rows, cols = joint_logits.shape
        per_rotation = joint_logits.view(rows // NUM_ROTATIONS, NUM_ROTATIONS,
                                         cols // NUM_ROTATIONS, NUM_ROTATIONS)
        return torch.diagonal(per_rotation, dim1=1, dim2=3).mean(dim=-1)

    def _loss_with_sla(self, inputs: Tensor, data_samples: List) -> Dict[str, Tensor]:
        features = self.extract_stage_features(inputs)
        losses, student_logits = self.adapter.student_forward(features, data_samples)
        refined, teacher_logits = self.self_teacher_forward(features)
        # the official sla.py forwards the rotated batch separately from the clean one
        rotated_features = self.extract_stage_features(self.step_layout(rotate_batch(inputs)))
        rotated_refined = self.refine(rotated_features)
        joint_student = self.sla_heads['student'](
            F.adaptive_avg_pool2d(rotated_features[-1], 1).flatten(1))
        joint_teacher = self.sla_heads['self_teacher'](
            F.adaptive_avg_pool2d(rotated_refined[-1], 1).flatten(1))
        targets = joint_labels(torch.cat([sample.gt_label for sample in data_samples]))
        rotation_student = self.aggregate_rotations(joint_student)
        rotation_teacher = self.aggregate_rotations(joint_teacher)

        losses.update(self.teacher_loss(teacher_logits, data_samples))
        losses['sla.loss_joint_student'] = F.cross_entropy(joint_student, targets)
        losses['sla.loss_joint_self_teacher'] = F.cross_entropy(joint_teacher, targets)
        losses['sla.loss_kl'] = self.sla_weight * (
            kl_divergence(student_logits, rotation_student.detach(), self.temperature)
            + kl_divergence(teacher_logits, rotation_teacher.detach(), self.temperature))
        losses.update(self.distill_losses(
            torch.cat([student_logits, rotation_student]),
            torch.cat([teacher_logits, rotation_teacher]),
            [torch.cat(pair) for pair in zip(features, rotated_features)],
            [torch.cat(pair) for pair in zip(refined, rotated_refined)]))
        return losses
