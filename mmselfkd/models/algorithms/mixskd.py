"""MixSKD: Self-Knowledge Distillation from Mixup for image classification.

Official code: winycg/Self-KD-Lib; the file and line numbers below refer to its commit
ede3062.
"""
import contextlib
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.model import ModuleList
from torch import Tensor, nn

from mmselfkd.models.aux_branches import (MixSKDBranch, build_discriminator, stage_modules,
                                          stage_out_channels)
from mmselfkd.models.losses import (at_least_float32, discriminator_bce, kl_divergence,
                                    mixup_cross_entropy)
from mmselfkd.models.utils import (LabelLoss, add_head_scores, backbone_outputs,
                                   classifier_logits, classifier_predictions, head_label_loss,
                                   keep_small_maps_contiguous)
from mmselfkd.registry import MODELS
from mmselfkd.utils.errors import ConfigError
from .base import BaseSelfKDAlgorithm, build_module


def interpolate(tensor: Tensor, lam: float, perm: Tensor) -> Tensor:
    """Mixup of rows: ``lam * t + (1 - lam) * t[perm]`` (images, logits or feature maps)."""
    return lam * tensor + (1 - lam) * tensor[perm]


def mixskd_losses(stage_logits: Sequence[Tensor], interpolated_features: Sequence[Tensor],
                  mixed_features: Sequence[Tensor], teacher_logits: Tensor,
                  teacher_mixed_logits: Tensor, labels: Tensor, lam: float, perm: Tensor,
                  discriminators: Sequence[nn.Module], temperature: float,
                  mixup_cls_loss: bool,
                  deployed_ce: LabelLoss = F.cross_entropy
                  ) -> Dict[str, Tensor]:
    """The MixSKD loss terms (official ``main_mixskd_cifar.py`` lines 177-201), from the
    outputs of one forward over ``[x, x_mix]``.

    Args:
        stage_logits: ``z_1 .. z_S`` of all ``2B`` rows (clean half first); the last one is
            the deployed classifier.
        interpolated_features: ``phi_bar_k = interpolate(phi_k[:B])`` for every stage.
        mixed_features: ``phi_tilde_k = phi_k[B:]`` for every stage.
        teacher_logits: self-teacher logits ``e`` on the interpolated features.
        teacher_mixed_logits: self-teacher logits ``e_tilde`` on the mixed-image features.
        labels: ``(B,)`` class indices of the clean images.
        lam: mixup coefficient of the batch.
        perm: ``(B,)`` mixup partner of every clean row.
        discriminators: one per stage.
        temperature: KL temperature ``T``.
        mixup_cls_loss: add ``L_mixcls`` to the total (key ``mixup.loss_cls``); otherwise it
            is computed without gradient and only logged (key ``mixup.ce``).
        deployed_ce: clean-half CE of the deployed classifier (the host head's loss).

    Returns:
        ``loss_cls`` + ``stage{k}.loss_cls`` = L_cls; ``distill.loss_kl_self_teacher`` +
        ``distill.loss_kl_mutual`` = L_div; ``distill.loss_feature_mse`` = L_fea;
        ``distill.loss_discriminator_bce`` = L_gan; ``mixup.loss_cls`` or ``mixup.ce`` =
        L_mixcls.
    """
    num = labels.shape[0]
    clean = [z[:num] for z in stage_logits]
    mixed = [z[num:] for z in stage_logits]
    interpolated = [interpolate(z, lam, perm) for z in clean]
    *aux_stages, deployed = range(len(stage_logits))
    if not (len(interpolated_features) == len(mixed_features) == len(discriminators)
            == len(stage_logits)):
        raise ValueError('mixskd_losses needs logits, features and a discriminator for every '
                         f'stage, got {len(stage_logits)} logits, {len(interpolated_features)}'
                         f'/{len(mixed_features)} features, {len(discriminators)} '
                         'discriminators')

    losses = {'loss_cls': deployed_ce(clean[deployed], labels)}
    for k in aux_stages:
        losses[f'stage{k + 1}.loss_cls'] = F.cross_entropy(at_least_float32(clean[k]), labels)

    # Self-teacher -> deployed classifier, crossed: the interpolated logits learn from the
    # teacher on mixed images and vice versa. The teacher side is a target: detached.
    losses['distill.loss_kl_self_teacher'] = (
        kl_divergence(interpolated[deployed], teacher_mixed_logits.detach(), temperature)
        + kl_divergence(mixed[deployed], teacher_logits.detach(), temperature))
    # Mutual KL between interpolated and mixed-image logits, auxiliary stages only.
    losses['distill.loss_kl_mutual'] = sum(
        kl_divergence(interpolated[k], mixed[k].detach(), temperature)
        + kl_divergence(mixed[k], interpolated[k].detach(), temperature) for k in aux_stages)
    # Both sides receive gradient, as in the official code (no detach).
    losses['distill.loss_feature_mse'] = sum(
        F.mse_loss(at_least_float32(a), at_least_float32(b))
        for a, b in zip(interpolated_features, mixed_features))
    losses['distill.loss_discriminator_bce'] = sum(
        discriminator_bce(d, a, b)
        for d, a, b in zip(discriminators, interpolated_features, mixed_features))

    grad_context = contextlib.nullcontext() if mixup_cls_loss else torch.no_grad()
    with grad_context:
        mixup_ce = sum(mixup_cross_entropy(z, labels, lam, perm)
                       for z in mixed + [teacher_logits, teacher_mixed_logits])
    losses['mixup.loss_cls' if mixup_cls_loss else 'mixup.ce'] = mixup_ce
    return losses


@MODELS.register_module()
class MixSKD(BaseSelfKDAlgorithm):
    """MixSKD, "Self-Knowledge Distillation from Mixup for Image Recognition" (Yang et al.,
    ECCV 2022, arXiv 2208.05768), faithful to the official code (winycg/Self-KD-Lib
    ``main_mixskd_cifar.py``, ``models/resnet_mixskd.py``, ``methods/adversarial.py``).

    Each training step mixes the batch (``lam ~ Beta(alpha, alpha)`` once per batch, a random
    permutation ``perm``, ``x_mix = lam * x + (1 - lam) * x[perm]``) and runs ONE forward over
    ``cat([x, x_mix])`` so that BatchNorm sees both halves. Stage ``k < S`` gets an auxiliary
    branch made of fresh copies of the later backbone stages with its own classifier; the last
    stage is the deployed classifier. A self-teacher (:class:`StageAggregator`) classifies the
    concatenated stage features. Loss terms (``main_mixskd_cifar.py`` lines 177-201), all
    weighted 1:

    - ``L_cls``: CE of every stage classifier on the clean half (``loss_cls`` through the host
      head's loss, ``stage{k}.loss_cls``);
    - ``L_div``: ``KL_T(z_bar_S || sg e_tilde) + KL_T(z_tilde_S || sg e)`` (self-teacher to the
      deployed classifier, crossed) and ``sum_{k<S} KL_T(z_bar_k || sg z_tilde_k) +
      KL_T(z_tilde_k || sg z_bar_k)`` (mutual), on interpolated (``bar``) and mixed-image
      (``tilde``) logits, ``T = 3``;
    - ``L_fea``: ``sum_k mean((phi_bar_k - phi_tilde_k)**2)``, gradient on both sides;
    - ``L_gan``: BCE of one discriminator per stage (GAP -> Linear -> ReLU -> Linear(2)) that
      separates interpolated from mixed-image features; minimised by the network;
    - ``L_mixcls``: mixup CE of the mixed-image stage logits and of both self-teacher outputs.

    The official CIFAR script computes ``L_mixcls`` but never adds it (``main_mixskd_cifar.py``
    lines 182-185 and 201): its self-teacher gets no gradient and stays at its random
    initialisation. ``mixup_cls_loss=False`` reproduces that by freezing the self-teacher and
    running it without autograd (its parameters keep ``grad=None``, so SGD applies neither
    weight decay nor momentum to them); ``L_mixcls`` is then only logged. The ImageNet script
    adds it (``mixup_cls_loss=True``, ``main_mixskd_imagenet.py`` lines 269-272). In both
    scripts the discriminators sit in a Python list and are never trained
    (``methods/adversarial.py`` lines 23-25):
    ``train_discriminators=False`` keeps them as frozen random networks through which the
    gradient still reaches the features; ``True`` trains them with the same loss and optimizer,
    which is what the official code attempts (it passes them to the optimizer). They are
    registered submodules either way, so checkpoints and ``--resume`` keep them.

    Only ``student`` (the host ``ImageClassifier``) is deployed: ``predict`` uses it alone
    unless ``val_heads=True``, which also stores the auxiliary classifiers' scores as
    ``stage1_score`` .. in each data sample for ``mmselfkd.MultiHeadAccuracy`` (its
    ``best_top1`` is the official script's "max over the four classifiers",
    ``main_mixskd_cifar.py`` line 278).

    Args:
        student: config of the deployable mmpretrain ``ImageClassifier``. Its backbone must
            output every stage (``out_indices=(0, 1, 2, 3)`` for a ResNet) and its head must
            classify the last one (``ClsHead`` family).
        self_teacher: config of the self-teacher; ``in_channels`` and ``num_classes`` default
            to the host's. Defaults to ``dict(type='mmselfkd.StageAggregator')``.
        mixup_alpha: Beta parameter of the mixup coefficient (official CIFAR 0.4, ImageNet
            0.2). Defaults to 0.4.
        temperature: temperature of the KL terms. Defaults to 3.
        mixup_cls_loss: add ``L_mixcls`` to the total (ImageNet script) or only log it (CIFAR
            script). Defaults to False.
        train_discriminators: train the discriminators (True) or keep them fixed random
            networks as the official code does (False). Defaults to False.
        discriminator_hidden_channels: hidden width of each discriminator. Defaults to 128.
        val_heads: store the auxiliary classifiers' scores in ``predict``. Defaults to False.
        data_preprocessor: injected by the Runner; handed to the student.
        init_cfg: initialisation config of the wrapper.
        memory_saving: recompute the auxiliary branches (block by block) and the
            self-teacher in the backward pass instead of keeping their activations; same
            losses, gradients and BatchNorm statistics. Defaults to False.
        channels_last: run the training step in the channels-last memory format; None
            (default): on the CPU (:meth:`~.BaseSelfKDAlgorithm.step_layout`).
    """

    #: a batch of one image mixes it with itself (``perm`` is the identity, ``x_mix = x``):
    #: the mutual KL and feature terms are 0 and the self-teacher and discriminators see
    #: one view twice. A last batch of 1 in an epoch is trained on, as the official
    #: script does (its loaders keep the last batch: ``dataloader/dataloaders.py:226``,
    #: ``main_mixskd_imagenet.py:198``).
    min_batch_size = 2

    def __init__(self, student: Union[dict, nn.Module],
                 self_teacher: Union[dict, nn.Module] = dict(type='mmselfkd.StageAggregator'),
                 mixup_alpha: float = 0.4, temperature: float = 3.0,
                 mixup_cls_loss: bool = False, train_discriminators: bool = False,
                 discriminator_hidden_channels: int = 128, val_heads: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None, memory_saving: bool = False,
                 channels_last: Optional[bool] = None):
        super().__init__(student, data_preprocessor=data_preprocessor, init_cfg=init_cfg,
                         memory_saving=memory_saving, channels_last=channels_last)
        if not mixup_alpha > 0:
            raise ConfigError(f'model.mixup_alpha must be > 0 (Beta(alpha, alpha)), got '
                             f'{mixup_alpha}')
        if not temperature > 0:
            raise ConfigError(f'model.temperature must be > 0, got {temperature}')
        for name, value in (('mixup_cls_loss', mixup_cls_loss),
                            ('train_discriminators', train_discriminators),
                            ('val_heads', val_heads)):
            if not isinstance(value, bool):
                raise TypeError(f'model.{name} must be True or False, got {value!r}')
        self.mixup_alpha = float(mixup_alpha)
        self.temperature = float(temperature)
        self.mixup_cls_loss = mixup_cls_loss
        self.train_discriminators = train_discriminators
        self.val_heads = val_heads

        self._check_host()
        backbone = self.student.backbone
        channels = stage_out_channels(backbone)
        num_classes = self.student.head.num_classes
        # mmengine's ModuleList, so that init_weights reaches each branch's init_cfg
        self.aux_branches = ModuleList(
            MixSKDBranch.from_backbone(backbone, first, channels, num_classes)
            for first in range(1, len(channels)))

        if isinstance(self_teacher, dict):
            self_teacher = copy.deepcopy(self_teacher)
            self_teacher.setdefault('in_channels', [channels[-1]] * len(channels))
            self_teacher.setdefault('num_classes', num_classes)
        self.self_teacher = build_module(self_teacher, 'self_teacher')
        self._check_self_teacher([channels[-1]] * len(channels), num_classes)
        if not mixup_cls_loss:
            # outside the loss graph, as in the CIFAR script; frozen so that DDP does not
            # wait for it
            self.self_teacher.requires_grad_(False)

        self.discriminators = nn.ModuleList(
            build_discriminator(channels[-1], discriminator_hidden_channels)
            for _ in channels)
        self.discriminators.requires_grad_(train_discriminators)
        # the stages of the student and of the branches that end at maps below 8x8 (the last
        # one on CIFAR) run contiguous in a channels-last step: measured faster
        keep_small_maps_contiguous(
            stage_modules(backbone) + [stage for branch in self.aux_branches
                                       for stage in branch.stages])

    def _check_host(self) -> None:
        student = self.student
        for attr in ('backbone', 'head', 'extract_feat'):
            if not hasattr(student, attr):
                raise TypeError('model.student must be an mmpretrain ImageClassifier (with a '
                                f'backbone and a head); {type(student).__name__} has no {attr}')
        if not hasattr(student.head, 'num_classes'):
            raise TypeError('model.student.head must be a classification head with '
                            f'`num_classes` (e.g. LinearClsHead), got '
                            f'{type(student.head).__name__}')
        if getattr(student.data_preprocessor, 'batch_augments', None) is not None:
            raise ConfigError('model.student.train_cfg.augments must be unset: MixSKD mixes '
                             'the batch itself and needs the clean images and labels.')
        backbone = student.backbone
        num_stages = len(stage_out_channels(backbone))
        out_indices = getattr(backbone, 'out_indices', None)
        if out_indices is not None and tuple(out_indices) != tuple(range(num_stages)):
            raise ConfigError('model.student.backbone.out_indices must list every stage, '
                             f'{tuple(range(num_stages))}, for the auxiliary branches; got '
                             f'{tuple(out_indices)}')

    def _check_self_teacher(self, in_channels: List[int], num_classes: int) -> None:
        """The self-teacher classifies the concatenated stage features into the head's
        classes; a mismatch would otherwise surface as a shape error at the first step."""
        needs = (('num_classes', num_classes, "the classes of model.student's head"),
                 ('in_channels', in_channels, "model.student's last-stage width per stage"))
        for name, expected, meaning in needs:
            value = getattr(self.self_teacher, name, None)
            if value is not None and value != expected:
                raise ConfigError(
                    f'model.self_teacher.{name} is {value}, but MixSKD needs {expected} '
                    f'({meaning}): set model.self_teacher.{name}={expected} or leave it out '
                    'to have it filled in')

    def extract_stages(self, inputs: Tensor) -> Tuple[List[Tensor], List[Tensor]]:
        """Stage features ``phi_1 .. phi_S`` and logits ``z_1 .. z_S`` of every input row.

        ``phi_k``/``z_k`` for ``k < S`` come from the auxiliary branch on backbone stage
        ``k``; ``phi_S`` is the last backbone stage and ``z_S`` the deployed head's logits.
        With ``memory_saving`` the branches are recomputed in the backward pass block by
        block, so that only one block's activations are alive at a time.
        """
        stage_maps = backbone_outputs(self.student, inputs)
        features, logits = [], []
        for branch, stage_map in zip(self.aux_branches, stage_maps):
            feature, branch_logits = branch(stage_map, self.run_training_only)
            features.append(feature)
            logits.append(branch_logits)
        features.append(stage_maps[-1])
        logits.append(classifier_logits(self.student, stage_maps))
        return features, logits

    def loss(self, inputs: Tensor, data_samples: List) -> Dict[str, Tensor]:
        labels = torch.cat([sample.gt_label for sample in data_samples])
        num = inputs.shape[0]
        # one coefficient per batch from NumPy's global RNG and one permutation, as the
        # official mixup_data; both are seeded by the runner's `randomness.seed`
        lam = float(np.random.beta(self.mixup_alpha, self.mixup_alpha))
        perm = torch.randperm(num, device=inputs.device)
        features, logits = self.extract_stages(
            self.step_layout(torch.cat([inputs, interpolate(inputs, lam, perm)])))
        interpolated_features = [interpolate(f[:num], lam, perm) for f in features]
        mixed_features = [f[num:] for f in features]

        teacher_context = contextlib.nullcontext() if self.mixup_cls_loss else torch.no_grad()
        with teacher_context:
            # no BatchNorm in the self-teacher: one call over both halves equals two calls
            teacher_out = self.run_training_only(
                lambda *maps: self.self_teacher(list(maps)),
                *[torch.cat([a, b]) for a, b in zip(interpolated_features, mixed_features)],
                modules=[self.self_teacher])
        teacher_logits, teacher_mixed_logits = teacher_out[:num], teacher_out[num:]

        return mixskd_losses(logits, interpolated_features, mixed_features, teacher_logits,
                             teacher_mixed_logits, labels, lam, perm, self.discriminators,
                             self.temperature, self.mixup_cls_loss,
                             deployed_ce=head_label_loss(self.student))

    def predict(self, inputs: Tensor, data_samples: Optional[List] = None) -> List:
        """The deployed classifier's predictions; with ``val_heads`` also the auxiliary
        classifiers' softmax scores as ``stage{k}_score``."""
        if not self.val_heads:
            return self.student(inputs, data_samples, mode='predict')
        stage_maps = backbone_outputs(self.student, inputs)
        predictions = classifier_predictions(self.student, stage_maps, data_samples)
        return add_head_scores(predictions, {
            f'stage{index + 1}': branch(stage_map)[1]
            for index, (branch, stage_map) in enumerate(zip(self.aux_branches, stage_maps))})
