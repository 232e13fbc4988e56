"""FFSD: Feature Fusion and Self-Distillation for online knowledge distillation (Li et al.).

Official code: SJLeo/FFSD; the file and line numbers below refer to its commit d5cfda9.
"""
import copy
from collections import OrderedDict
from contextlib import ExitStack
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapperDict
from torch import Tensor, nn

from mmselfkd.models.losses import (attention_map, attention_shifted_feature,
                                    attention_transfer, diversity_loss, kl_divergence,
                                    normalized_distance)
from mmselfkd.models.utils import (add_head_scores, forward_with_backbone_outputs,
                                   head_losses, probe_feature_maps, recompute_in_backward,
                                   unwrap)
from mmselfkd.registry import MODELS
from mmselfkd.utils.errors import ConfigError
from .base import BaseSelfKDAlgorithm, build_host_model, build_module, resolve_host_config


class FFSDStudents(nn.ModuleList):
    """The common students; one ``forward`` runs them all (one DDP wrapper under
    ``MMSeparateDistributedDataParallel``, one optimizer). With ``memory_saving`` (set by
    :class:`FFSD`) each student is recomputed in the backward pass; the recomputation runs
    inside this forward, so that a DDP wrapper around it runs once per step."""

    memory_saving = False

    def forward(self, inputs: Tensor) -> Tuple[List[Tuple[Tensor, ...]], List[Tensor]]:
        features, logits = [], []
        for student in self:
            stage_features, student_logits = recompute_in_backward(
                forward_with_backbone_outputs, student, inputs, modules=[student],
                enabled=self.memory_saving and self.training)
            features.append(stage_features)
            logits.append(student_logits)
        return features, logits


class FFSDSelfDistillers(nn.ModuleList):
    """The self-distillation modules: ``[Psi_2, ..., Psi_M, Psi_0]`` (students 2..M, leader),
    recomputed in the backward pass with ``memory_saving`` (as :class:`FFSDStudents`)."""

    memory_saving = False

    def forward(self, features: Sequence[Tensor]) -> List[List[Tensor]]:
        return [recompute_in_backward(distiller, feature, modules=[distiller],
                                      enabled=self.memory_saving and self.training)
                for distiller, feature in zip(self, features)]


@MODELS.register_module()
class FFSD(BaseSelfKDAlgorithm):
    """FFSD (Li et al., "Distilling a Powerful Student Model via Online Knowledge
    Distillation", IEEE TNNLS 2022, arXiv 2103.14473), official code SJLeo/FFSD.

    ``M`` common students (``students``) and a leader (``leader``) of the same architecture
    are trained online, each by its own optimizer; a fusion module (``fusion``) fuses the
    students' last-stage maps, the leader owns a trans-fusion module (``trans_fusion``), and
    self-distillation modules ``Psi`` (``self_distillers``: students 2..M, then the leader) map
    a deep feature back to the shallower stages. Only the leader is deployed.

    With ``F^l_m`` the stage-``l`` map of network ``m`` (0 = leader), ``z_m`` its logits,
    ``A(f) = mean_c f^2``, ``d(a, b) = mean((N(a) - N(b))^2)``, ``sg`` = detach, ``T`` the
    temperature and ``w`` the warm-up factor set by ``mmselfkd.LossWeightWarmupHook``
    (official ``CIFARTrainer.py``: losses at lines 237-349, warm-up at lines 538-549)::

        studentm.loss_cls  = CE(z_m, y)
        studentm.loss_kl   = 1/(M-1) sum_{j != m} T^2 KL(z_m/T || sg z_j/T)
        studentm.loss_div  = w lambda_div Div(A(F^L_m), sg A(F^L_{m-1}))             (m >= 2)
        studentm.loss_sd   = w lambda_div sum_{l<L} d(A(F^l_m), A(O^l)),             (m >= 2)
                             O = Psi_m(Shift(sg F^L_{m-1})) with Psi_m in eval mode
        fusion.loss_cls    = CE(z_f, y);  (V, z_f) = fusion(U),  U = cat_m sg F^L_m
        fusion.loss_kl     = T^2 KL(z_f/T || sg mean_m z_m/T)
        leader.loss_cls    = CE(z_0, y)
        leader.loss_kl     = T^2 KL(z_0/T || sg z_f/T)
        leader.loss_fusion = w lambda_fusion d(A(F^L_0), sg A(V))
        leader.loss_trans_fusion = w lambda_fusion d(A(trans_fusion(F^L_0)), A(U))
        leader.loss_sd     = w lambda_fusion sum_{l<L} d(A(F^l_0), A(O^l)),  O = Psi_0(sg V) (eval)
        self_distillers.<owner>.loss_feat = w lambda_sd sum_{l<L} d(P^l, sg F^l)
        self_distillers.<owner>.loss_att  = w lambda_sd sum_{l<L} d(A(P^l), sg A(F^l)),
                             P = Psi(sg F^L) of the owner's own network, Psi in train mode

    ``Div`` and ``Shift`` are :func:`diversity_loss` and :func:`attention_shifted_feature`.
    ``lambda_sd`` only weighs the Psi modules' own loss (``CIFARTrainer.py`` lines 503-508);
    student 2's self-distillation term is weighted by ``lambda_div`` (line 263) and the
    leader's by ``lambda_fusion`` (line 315).

    :meth:`train_step` runs every forward once, then updates in the official order
    (``CIFARTrainer.py`` lines 283-349): students, fusion, leader, Psi modules, each with its
    own wrapper of the ``OptimWrapperDict`` (keys ``students``, ``fusion``, ``leader`` (leader +
    trans-fusion), ``self_distillers``). All targets come from that single forward, i.e. from
    the networks before any update of the iteration. Every loss reaches only the parameters of
    its own wrapper (the cross-network inputs and targets are detached), so one SGD over all
    students equals the official one SGD per student. Under DDP use
    ``model_wrapper_cfg=dict(type='MMSeparateDistributedDataParallel')``: every top-level
    sub-module is then wrapped on its own and called through its ``forward``.

    Args:
        architecture: config of the mmpretrain ``ImageClassifier`` used for the leader and
            every student; its backbone must return every stage (e.g. ``out_indices=(0, 1,
            2)`` for CIFAR ResNets), the last stage feeding the head.
        fusion: config of the fusion module. Defaults to ``mmselfkd.FFSDFusionModule``;
            ``in_channels``, ``num_classes`` and ``num_students`` are filled in (or checked).
        trans_fusion: config of the leader's trans-fusion module. Defaults to
            ``mmselfkd.FFSDTransFusion``; ``in_channels``/``num_students`` filled in.
        self_distiller: config of one Psi module. Defaults to ``mmselfkd.FFSDSelfDistiller``;
            ``in_channels``, ``num_layers`` (= stages - 1) and ``out_channels`` (the
            shallower stages' channels, deepest first) filled in.
        num_students: number ``M`` of common students (>= 2). Defaults to 2.
        temperature: ``T`` of every KL term. Defaults to 2.
        lambda_div: weight of student 2's diversity and self-distillation terms. Defaults to
            1e-5.
        lambda_fusion: weight of the leader's attention terms. Defaults to 10.
        lambda_sd: weight of the Psi modules' own loss. Defaults to 1000.
        val_heads: extra classifiers scored in ``predict`` for
            ``mmselfkd.MultiHeadAccuracy``: ``'student1'`` ... ``'studentM'``, ``'fusion'``.
            Defaults to none (the leader only).
        data_preprocessor: injected by the Runner; handed to the leader.
        init_cfg: initialisation config of the wrapper.
        memory_saving: recompute the common students and the self-distillation modules in
            the backward pass instead of keeping their activations; same losses, gradients
            and BatchNorm statistics. (The fusion and trans-fusion modules, on the last-stage
            maps, hold about 3 % of the activations and are not recomputed.) Defaults to
            False.
        channels_last: run the training step in the channels-last memory format; None
            (default): on the CPU (:meth:`~.BaseSelfKDAlgorithm.step_layout`).
    """

    deploy_attr = 'leader'
    #: optimizer wrappers in the official update order
    update_order = ('students', 'fusion', 'leader', 'self_distillers')
    #: side of the zero image used to read the backbone's stage channels
    probe_size = 32

    @classmethod
    def deploy_config(cls, model_cfg: dict) -> dict:
        """``architecture``: it configures the leader (and every student)."""
        return model_cfg['architecture']

    def __init__(self,
                 architecture: dict,
                 fusion: Optional[dict] = None,
                 trans_fusion: Optional[dict] = None,
                 self_distiller: Optional[dict] = None,
                 num_students: int = 2,
                 temperature: float = 2.0,
                 lambda_div: float = 1e-5,
                 lambda_fusion: float = 10.0,
                 lambda_sd: float = 1000.0,
                 val_heads: Sequence[str] = (),
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 memory_saving: bool = False,
                 channels_last: Optional[bool] = None):
        if num_students < 2:
            raise ConfigError(f'model.num_students must be >= 2 (FFSD trains a pair of common '
                             f'students at least), got {num_students}')
        if temperature <= 0:
            raise ConfigError(f'model.temperature must be > 0, got {temperature}')
        for name, value in (('lambda_div', lambda_div), ('lambda_fusion', lambda_fusion),
                            ('lambda_sd', lambda_sd)):
            # `not >=` also rejects NaN; a negative weight would maximise its term
            if not value >= 0:
                raise ConfigError(f'model.{name} must be a loss weight >= 0, got {value}')
        # read a dict(cfg_path=...) once for the leader and every common student
        architecture = resolve_host_config(architecture, 'architecture')
        leader = build_host_model(architecture, data_preprocessor, field='architecture')
        if getattr(leader, 'head', None) is None or getattr(leader, 'backbone', None) is None:
            raise ConfigError('model.architecture must be an ImageClassifier with a backbone and '
                             f'a head, got {type(leader).__name__}')
        # The base class builds ``student``; FFSD's deployable is the leader instead.
        BaseModel.__init__(self, data_preprocessor=leader.data_preprocessor, init_cfg=init_cfg)
        self.leader = leader
        self.students = FFSDStudents(
            build_host_model(architecture, data_preprocessor, field='architecture')
            for _ in range(num_students))

        channels = self._stage_channels()
        if len(channels) < 2:
            raise ConfigError('model.architecture.backbone must return every stage (e.g. '
                             f'out_indices=(0, 1, 2)), got {len(channels)} stage output(s)')
        num_classes = leader.head.num_classes
        self.fusion = build_module(
            self._complete(fusion, 'fusion', dict(type='FFSDFusionModule'),
                           in_channels=channels[-1], num_classes=num_classes,
                           num_students=num_students), 'fusion')
        self.trans_fusion = build_module(
            self._complete(trans_fusion, 'trans_fusion', dict(type='FFSDTransFusion'),
                           in_channels=channels[-1], num_students=num_students),
            'trans_fusion')
        distiller_cfg = self._complete(self_distiller, 'self_distiller',
                                       dict(type='FFSDSelfDistiller'),
                                       in_channels=channels[-1], num_layers=len(channels) - 1,
                                       out_channels=channels[-2::-1])
        self.self_distillers = FFSDSelfDistillers(
            build_module(distiller_cfg, 'self_distiller') for _ in range(num_students))

        self.num_students = num_students
        self.temperature = float(temperature)
        self.lambda_div = lambda_div
        self.lambda_fusion = lambda_fusion
        self.lambda_sd = lambda_sd
        #: warm-up factor of the three lambdas, set per epoch by LossWeightWarmupHook
        self.loss_weight_factor = 1.0
        known_heads = [f'student{m + 1}' for m in range(num_students)] + ['fusion']
        unknown = [head for head in val_heads if head not in known_heads]
        if unknown:
            raise ConfigError(f'model.val_heads: unknown heads {unknown}; choose from '
                             f'{known_heads}')
        self.val_heads = tuple(val_heads)
        self.set_step_options(memory_saving, channels_last)

    def set_step_options(self, memory_saving: bool, channels_last: Optional[bool]) -> None:
        """Check and set the switches, ``memory_saving`` also in the modules that recompute
        themselves."""
        super().set_step_options(memory_saving, channels_last)
        for container in (self.students, self.self_distillers):
            unwrap(container).memory_saving = memory_saving

    def _stage_channels(self) -> List[int]:
        """Channels of the backbone's stage outputs, read from a zero image."""
        return [m.shape[1] for m in probe_feature_maps(self.leader.backbone, self.probe_size)]

    @staticmethod
    def _complete(cfg: Optional[dict], field: str, default: dict, **derived) -> dict:
        """Fill the derived arguments into a module config, or check the given ones."""
        cfg = copy.deepcopy(default if cfg is None else cfg)
        for key, value in derived.items():
            given = cfg.setdefault(key, value)
            if (list(given) if isinstance(given, tuple) else given) != value:
                raise ConfigError(f'model.{field}.{key} is {cfg[key]}, but the architecture '
                                 f'needs {value}; leave it out to fill it in')
        return cfg

    # ------------------------------------------------------------------ losses

    def loss(self, inputs: Tensor, data_samples: List) -> Dict[str, Tensor]:
        temperature = self.temperature
        weight_div = self.lambda_div * self.loss_weight_factor
        weight_fusion = self.lambda_fusion * self.loss_weight_factor
        weight_sd = self.lambda_sd * self.loss_weight_factor
        inputs = self.step_layout(inputs)

        leader_features, leader_logits = forward_with_backbone_outputs(self.leader, inputs)
        student_features, student_logits = self.students(inputs)
        # U: detached, so the fusion module and the leader never train the students
        students_last = torch.cat([f[-1].detach() for f in student_features], dim=1)
        fused, fusion_logits = self.fusion(students_last)
        ensemble_logits = torch.stack(student_logits).mean(dim=0)

        # Psi targets: eval mode (running statistics) and before Psi's own update
        distiller_inputs = [attention_shifted_feature(student_features[m - 1][-1].detach())
                            for m in range(1, self.num_students)] + [fused.detach()]
        was_training = self.self_distillers.training
        with torch.no_grad():
            self.self_distillers.eval()
            distiller_targets = self.self_distillers(distiller_inputs)
        self.self_distillers.train(was_training)

        losses: Dict[str, Tensor] = OrderedDict()
        students = unwrap(self.students)
        for m, logits in enumerate(student_logits):
            prefix = f'student{m + 1}.'
            losses[prefix + 'loss_cls'] = head_losses(students[m], logits, data_samples)['loss_cls']
            losses[prefix + 'loss_kl'] = sum(
                kl_divergence(logits, other.detach(), temperature)
                for j, other in enumerate(student_logits) if j != m) / (self.num_students - 1)
            if m > 0:
                losses[prefix + 'loss_div'] = weight_div * diversity_loss(
                    attention_map(student_features[m][-1]),
                    attention_map(student_features[m - 1][-1].detach()))
                losses[prefix + 'loss_sd'] = weight_div * self._self_distillation(
                    student_features[m], distiller_targets[m - 1])

        losses['fusion.loss_cls'] = head_losses(self.leader, fusion_logits,
                                               data_samples)['loss_cls']
        losses['fusion.loss_kl'] = kl_divergence(fusion_logits, ensemble_logits.detach(),
                                                 temperature)

        losses['leader.loss_cls'] = head_losses(self.leader, leader_logits,
                                               data_samples)['loss_cls']
        losses['leader.loss_kl'] = kl_divergence(leader_logits, fusion_logits.detach(),
                                                 temperature)
        losses['leader.loss_fusion'] = weight_fusion * attention_transfer(
            leader_features[-1], fused.detach())
        losses['leader.loss_trans_fusion'] = weight_fusion * attention_transfer(
            self.trans_fusion(leader_features[-1]), students_last)
        losses['leader.loss_sd'] = weight_fusion * self._self_distillation(
            leader_features, distiller_targets[-1])

        # Psi modules learn to rebuild the shallow stages of their own network
        owners = [f'student{m + 1}' for m in range(1, self.num_students)] + ['leader']
        owner_features = student_features[1:] + [leader_features]
        reconstructions = self.self_distillers([f[-1].detach() for f in owner_features])
        for owner, outputs, features in zip(owners, reconstructions, owner_features):
            prefix = f'self_distillers.{owner}.'
            losses[prefix + 'loss_feat'] = weight_sd * sum(
                normalized_distance(output, feature.detach())
                for output, feature in zip(outputs, features))
            losses[prefix + 'loss_att'] = weight_sd * sum(
                attention_transfer(output, feature.detach())
                for output, feature in zip(outputs, features))
        return losses

    @staticmethod
    def _self_distillation(features: Sequence[Tensor], targets: Sequence[Tensor]) -> Tensor:
        """``sum_l d(A(F^l), A(O^l))`` over the stages below the last (``targets`` carry no
        gradient: they come from the eval-mode Psi under ``no_grad``)."""
        return sum(attention_transfer(feature, target)
                   for feature, target in zip(features, targets))

    # -------------------------------------------------------------- train step

    @staticmethod
    def _wrapper_of(loss_name: str) -> str:
        head = loss_name.split('.', 1)[0]
        return 'students' if head.startswith('student') else head

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapperDict) -> Dict[str, Tensor]:
        """One forward of everything, then one update per wrapper in the official order."""
        if not isinstance(optim_wrapper, OptimWrapperDict) or \
                set(optim_wrapper.keys()) != set(self.update_order):
            keys = list(optim_wrapper.keys()) if isinstance(optim_wrapper, OptimWrapperDict) \
                else type(optim_wrapper).__name__
            raise ValueError(
                f'FFSD needs optim_wrapper with constructor='
                f"'mmselfkd.MultiOptimWrapperConstructor' and the wrappers "
                f'{list(self.update_order)}, got {keys}')
        with ExitStack() as stack:
            for key in self.update_order:
                stack.enter_context(optim_wrapper[key].optim_context(self))
            data = self.data_preprocessor(data, True)
            losses = self._run_forward(data, mode='loss')

        log_vars: Dict[str, Tensor] = OrderedDict()
        total = 0
        for key in self.update_order:
            group = {name: value for name, value in losses.items()
                     if self._wrapper_of(name) == key}
            loss, group_log = self.parse_losses(group)
            optim_wrapper[key].update_params(loss)
            total = total + group_log.pop('loss').detach()
            log_vars.update((name, value.detach()) for name, value in group_log.items())
        log_vars['loss'] = total
        log_vars.move_to_end('loss', last=False)
        return log_vars

    # ------------------------------------------------------------- inference

    def predict(self, inputs: Tensor, data_samples: Optional[List] = None) -> List:
        """The leader's predictions, plus ``f'{head}_score'`` of every ``val_heads`` entry."""
        results = self.leader(inputs, data_samples, mode='predict')
        if not self.val_heads:
            return results
        student_features, student_logits = self.students(inputs)
        logits = {f'student{m + 1}': z for m, z in enumerate(student_logits)}
        if 'fusion' in self.val_heads:
            logits['fusion'] = self.fusion(
                torch.cat([f[-1] for f in student_features], dim=1))[1]
        return add_head_scores(results, {head: logits[head] for head in self.val_heads})
