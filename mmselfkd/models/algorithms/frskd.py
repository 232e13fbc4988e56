"""FRSKD: Feature Refinement via Self-Knowledge Distillation (Ji et al., CVPR 2021)."""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmselfkd.models.losses import AttentionTransferLoss, KLDivergence, kl_divergence
from mmselfkd.models.utils import NUM_ROTATIONS, joint_labels, rotate_batch
from mmselfkd.registry import MODELS
from .base import BaseSelfKDAlgorithm, build_module


@MODELS.register_module()
class FRSKD(BaseSelfKDAlgorithm):
    """FRSKD (Ji et al., "Refine Myself by Teaching Myself: Feature Refinement via
    Self-Knowledge Distillation", CVPR 2021, arXiv 2103.08273) for mmpretrain classifiers.

    A BiFPN self-teacher refines the student backbone's stage maps ``F_i`` into ``G_i`` and
    classifies them (``z_t``); the student classifier gives ``z_s``. Loss (spec section 1.4)::

        loss_cls                = CE(z_s, y)                  through the student's head
        self_teacher.loss_cls   = CE(z_t, y)                  same head loss and labels
        distill.loss_kl         = alpha * KL_T(z_s || sg z_t)
        distill.loss_at         = beta * sum_i AT(F_i, sg G_i)

    ``F_i`` are not detached, so the self-teacher's CE also trains the backbone; the
    self-teacher receives no gradient from the distillation terms (spec 1.4, 5.4).

    Variants of the official repository:

    * mixup / CutMix: set ``student.train_cfg.augments``; mmpretrain's batch augments mix the
      images and turn the labels into soft ``gt_score``; both CE terms use them, KD and AT are
      computed on the mixed images, as in the official ``mixed_criterion`` (spec 1.4).
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

    Inference, validation and export use the student only (``student.*`` keys).

    Args:
        student: config of the deployable mmpretrain ``ImageClassifier``; its backbone must
            return at least two stages (``out_indices``), each half the size of the previous.
        self_teacher: config of the self-teacher, e.g.
            ``dict(type='mmselfkd.BiFPNSelfTeacher', width=2, depth=2)``. ``in_channels`` and
            ``num_classes`` are filled in from the student (or checked against it if given).
        alpha: weight of the logit distillation. Defaults to 2 (official README command).
        beta: weight of the attention transfer. Defaults to 100 (official README command).
        temperature: KD temperature ``T``. Defaults to 4.
        sla_weight: enables the SLA variant with this weight (``aux_lamb``; 1 in the README).
            Defaults to None (off).
        data_preprocessor: injected by the Runner; handed to the student.
        init_cfg: initialisation config of the wrapper.
    """

    #: side of the square zero image used to read the backbone's stage channels and sizes
    probe_size = 64

    def __init__(self,
                 student: Union[dict, nn.Module],
                 self_teacher: Union[dict, nn.Module],
                 alpha: float = 2.0,
                 beta: float = 100.0,
                 temperature: float = 4.0,
                 sla_weight: Optional[float] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(student, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if getattr(self.student, 'head', None) is None:
            raise ValueError('model.student must be a classifier with a head (ImageClassifier '
                             'with backbone, neck and head)')
        for name, value in (('alpha', alpha), ('beta', beta)):
            if value < 0:
                raise ValueError(f'model.{name} must be >= 0, got {value}')
        self.temperature = temperature
        self.distill_kl = KLDivergence(temperature=temperature, loss_weight=alpha)
        self.distill_at = AttentionTransferLoss(loss_weight=beta)

        stage_channels = self._probe_stage_channels()
        self.self_teacher = self._build_self_teacher(self_teacher, stage_channels)

        self.sla_weight = sla_weight
        self.sla_heads: Optional[nn.ModuleDict] = None
        if sla_weight is not None:
            self._check_sla_compatible()
            num_joint = NUM_ROTATIONS * self.self_teacher.classifier.fc.out_features
            self.sla_heads = nn.ModuleDict({
                'student': nn.Linear(stage_channels[-1], num_joint),
                'self_teacher': nn.Linear(self.self_teacher.out_channels[-1], num_joint)})

    # ----------------------------------------------------------------- build-time checks
    def _probe_stage_channels(self) -> List[int]:
        """Run the backbone once on a zero image to read its stage channels and sizes."""
        backbone = self.student.backbone
        was_training = backbone.training
        backbone.eval()
        try:
            with torch.no_grad():
                probe = torch.zeros(1, self._input_channels(), self.probe_size,
                                    self.probe_size)
                stages = backbone(probe)
        finally:
            backbone.train(was_training)
        if not isinstance(stages, (tuple, list)) or len(stages) < 2 or any(
                not isinstance(s, Tensor) or s.dim() != 4 for s in stages):
            raise ValueError('FRSKD needs several (N, C, H, W) stage maps from the backbone: set '
                             'model.student.backbone.out_indices to at least two stages, e.g. '
                             '(0, 1, 2, 3) for ResNet')
        sizes = [tuple(s.shape[-2:]) for s in stages]
        for finer, coarser in zip(sizes, sizes[1:]):
            if finer != (2 * coarser[0], 2 * coarser[1]):
                raise ValueError(
                    'the BiFPN self-teacher needs each stage at half the resolution of the '
                    f'previous one; model.student.backbone.out_indices gives sizes {sizes} for '
                    f'a {self.probe_size}x{self.probe_size} input')
        return [s.shape[1] for s in stages]

    def _input_channels(self) -> int:
        """Image channels: those the preprocessor normalises, else RGB."""
        mean = getattr(self.data_preprocessor, 'mean', None)
        return mean.shape[0] if isinstance(mean, Tensor) else 3

    def _build_self_teacher(self, cfg: Union[dict, nn.Module],
                            stage_channels: List[int]) -> nn.Module:
        num_classes = getattr(self.student.head, 'num_classes', None)
        if isinstance(cfg, dict):
            cfg = copy.deepcopy(cfg)
            given = cfg.setdefault('in_channels', stage_channels)
            if list(given) != stage_channels:
                raise ValueError(
                    f'model.self_teacher.in_channels={list(given)} does not match the channels '
                    f'{stage_channels} of the stages model.student.backbone returns '
                    '(out_indices); fix it or leave it out to infer it')
            if num_classes is not None:
                cfg.setdefault('num_classes', num_classes)
        module = build_module(cfg, field='self_teacher')
        if list(getattr(module, 'in_channels', stage_channels)) != stage_channels:
            raise ValueError(f'model.self_teacher expects stage channels {module.in_channels}, '
                             f'but model.student.backbone returns {stage_channels}')
        classifier = getattr(module, 'classifier', None)
        if classifier is None:
            raise ValueError('model.self_teacher.num_classes must be set: FRSKD trains the '
                             "self-teacher's classifier")
        if num_classes is not None and classifier.fc.out_features != num_classes:
            raise ValueError(f'model.self_teacher.num_classes={classifier.fc.out_features} must '
                             f'equal model.student.head.num_classes={num_classes}')
        return module

    def _check_sla_compatible(self) -> None:
        if getattr(self.data_preprocessor, 'batch_augments', None) is not None:
            raise ValueError('model.sla_weight cannot be combined with '
                             'model.student.train_cfg.augments: SLA needs hard labels and the '
                             'official code never combines SLA with mixup/CutMix')

    # --------------------------------------------------------- classification adapter
    def extract_stage_features(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        """The backbone stage maps ``F_i`` (the taps of the attention transfer)."""
        return self.student.extract_feat(inputs, stage='backbone')

    def student_logits(self, features: Sequence[Tensor]) -> Tensor:
        """The deployable classifier's logits ``z_s`` from the stage maps (no new backbone pass)."""
        if self.student.with_neck:
            features = self.student.neck(features)
        return self.student.head(features)

    def task_loss(self, logits: Tensor, data_samples: List) -> Dict[str, Tensor]:
        """The student head's own loss on ``logits``: its loss module and label handling
        (hard ``gt_label`` or the soft ``gt_score`` of batch augments)."""
        losses = self.student.head._get_loss(logits, data_samples)
        losses['loss_cls'] = losses.pop('loss')
        return losses

    # ----------------------------------------------------------------------- losses
    def self_teacher_forward(self, features: Sequence[Tensor]) -> Tuple[List[Tensor], Tensor]:
        """Refined maps ``G_i`` and self-teacher logits ``z_t``."""
        refined = self.self_teacher(list(features))
        return refined, self.self_teacher.classifier(refined[-1])

    def distill_losses(self, student_logits: Tensor, teacher_logits: Tensor,
                       student_features: Sequence[Tensor],
                       teacher_features: Sequence[Tensor]) -> Dict[str, Tensor]:
        """``alpha * KL_T(z_s || sg z_t)`` and ``beta * sum_i AT(F_i, sg G_i)`` (spec 1.4)."""
        return {
            'distill.loss_kl': self.distill_kl(student_logits, teacher_logits.detach()),
            'distill.loss_at': self.distill_at(list(student_features),
                                               [f.detach() for f in teacher_features]),
        }

    def loss(self, inputs: Tensor, data_samples: List) -> Dict[str, Tensor]:
        if self.sla_heads is not None:
            return self._loss_with_sla(inputs, data_samples)
        features = self.extract_stage_features(inputs)
        student_logits = self.student_logits(features)
        refined, teacher_logits = self.self_teacher_forward(features)
        losses = self.task_loss(student_logits, data_samples)
        losses.update({f'self_teacher.{k}': v
                       for k, v in self.task_loss(teacher_logits, data_samples).items()})
        losses.update(self.distill_losses(student_logits, teacher_logits, features, refined))
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
        student_logits = self.student_logits(features)
        refined, teacher_logits = self.self_teacher_forward(features)
        # the official sla.py forwards the rotated batch separately from the clean one
        rotated_features = self.extract_stage_features(rotate_batch(inputs))
        rotated_refined = self.self_teacher(list(rotated_features))
        joint_student = self.sla_heads['student'](
            F.adaptive_avg_pool2d(rotated_features[-1], 1).flatten(1))
        joint_teacher = self.sla_heads['self_teacher'](
            F.adaptive_avg_pool2d(rotated_refined[-1], 1).flatten(1))
        targets = joint_labels(torch.cat([sample.gt_label for sample in data_samples]))
        rotation_student = self.aggregate_rotations(joint_student)
        rotation_teacher = self.aggregate_rotations(joint_teacher)

        losses = self.task_loss(student_logits, data_samples)
        losses.update({f'self_teacher.{k}': v
                       for k, v in self.task_loss(teacher_logits, data_samples).items()})
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
