"""The base of every mmselfkd algorithm: a deployable host model plus training-only modules."""
import copy
import os.path as osp
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import torch
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.model import BaseModel
from mmengine.registry import MODELS as ROOT_MODELS
from torch import Tensor, nn

from mmselfkd.models.utils import recompute_in_backward
from mmselfkd.registry import MODELS
from mmselfkd.utils.errors import ConfigError


def build_host_model(cfg: Union[dict, nn.Module], data_preprocessor: Optional[dict] = None,
                     field: str = 'student') -> nn.Module:
    """Build an mmpretrain/mmseg/mmdet model from its ordinary config.

    The host config resolves in the current default scope (``default_scope`` of the config),
    so unprefixed host types such as ``ImageClassifier`` work. The data preprocessor that the
    Runner injects from the config's top level is handed to the host, which owns it.
    ``dict(cfg_path=PATH)`` stands for the ``model`` of another config file
    (:func:`model_config_from_file`).
    """
    if isinstance(cfg, nn.Module):
        return cfg
    cfg = resolve_host_config(cfg, field)
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(f'model.{field} must be a model config dict with a "type" (or '
                        f'dict(cfg_path=CONFIG_FILE)), got {cfg!r}')
    cfg = copy.deepcopy(cfg)
    if data_preprocessor is not None:
        cfg.setdefault('data_preprocessor', data_preprocessor)
    try:
        return ROOT_MODELS.build(cfg)
    except KeyError as error:
        raise KeyError(f'model.{field}: {error}. Host types (ImageClassifier, EncoderDecoder, '
                       "...) resolve in the config's default_scope ('mmpretrain', 'mmseg' or "
                       "'mmdet'); set default_scope or prefix the type, e.g. "
                       "'mmpretrain.ImageClassifier'.") from None


def resolve_host_config(cfg, field: str):
    """``cfg`` itself, or for ``dict(cfg_path=PATH)`` the model config in that file."""
    if isinstance(cfg, dict) and 'cfg_path' in cfg:
        return model_config_from_file(cfg, field)
    return cfg


def model_config_from_file(cfg: dict, field: str) -> dict:
    """The ``model`` of the config file named by ``dict(cfg_path=PATH, **changes)``.

    mmrazor's form of a teacher from another config. ``PATH`` is a file path, relative to the
    current directory (in a config file, ``'{{ fileDirname }}/x.py'`` names a file relative
    to that config), or ``'package::path'`` for a config installed with a package, e.g.
    ``'mmpretrain::resnet/resnet34_8xb32_in1k.py'``. Only the ``model`` is taken (the data
    pipeline, schedule and preprocessor stay those of the config being run); the other keys
    are merged into it as a child config's keys into its base (``--cfg-options
    model.teacher.backbone.depth=10`` works).
    """
    changes = {k: v for k, v in cfg.items() if k != 'cfg_path'}
    path = cfg['cfg_path']
    if not isinstance(path, str):
        raise TypeError(f'model.{field}.cfg_path must be a config file path, got {path!r}')
    if '::' in path:
        loaded = get_config(path)
    elif osp.isfile(path):
        loaded = Config.fromfile(path)
    else:
        raise FileNotFoundError(
            f'model.{field}.cfg_path: no config file {path!r} (from {osp.abspath(".")}); a '
            "config can name a path relative to itself with '{{ fileDirname }}/...'")
    if not isinstance(loaded.get('model'), dict):
        raise ConfigError(f'model.{field}.cfg_path: {path} has no model config')
    model = loaded.model
    model.merge(changes)  # MMEngine's base/child merge, `_delete_` included
    return model.to_dict()


def build_module(cfg: Union[dict, nn.Module], field: str) -> nn.Module:
    """Build an mmselfkd module (self-teacher, branch, ...); unprefixed types mean mmselfkd."""
    if isinstance(cfg, nn.Module):
        return cfg
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(f'model.{field} must be a config dict with a "type", got {cfg!r}')
    cfg = copy.deepcopy(cfg)
    if isinstance(cfg['type'], str) and '.' not in cfg['type']:
        cfg.setdefault('_scope_', 'mmselfkd')
    return MODELS.build(cfg)


class BaseSelfKDAlgorithm(BaseModel):
    """Wraps the deployable host model under :attr:`deploy_attr` (``student``).

    ``loss()`` runs every forward the method needs once and returns a flat dict of prefixed
    losses; ``predict`` and ``tensor`` modes delegate to the deployable model, so validation
    measures what is deployed and export is a prefix strip (``student.backbone.*`` ->
    ``backbone.*``). Training-only modules are siblings of ``student``.

    With ``memory_saving=True`` the forward passes of the training-only modules keep no
    activations for the backward pass, which recomputes them (:meth:`run_training_only`):
    the same losses, gradients and BatchNorm statistics for about one more forward pass of
    those modules per step.

    Args:
        student: config (or module) of the deployable mmpretrain/mmseg/mmdet model.
        data_preprocessor: injected by the Runner from the config's top level and handed to
            the student, whose data preprocessor the algorithm reuses.
        init_cfg: initialisation config of the wrapper.
        memory_saving: recompute the training-only modules in the backward pass instead of
            keeping their activations. Defaults to False.
        channels_last: run the training step in the channels-last memory format
            (:meth:`step_layout`). Defaults to None: on the CPU, where it is faster for every
            method (measured per module and per step, see ``docs/benchmarks.md``); on CUDA
            the contiguous format (not measured yet).
    """

    #: attribute that holds the deployable network
    deploy_attr = 'student'
    #: the smallest per-process training batch for which the method's losses are
    #: meaningful; ``train_dataloader.batch_size`` is checked against it before training
    min_batch_size: int = 1

    def __init__(self, student: Union[dict, nn.Module],
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 memory_saving: bool = False,
                 channels_last: Optional[bool] = None):
        student = build_host_model(student, data_preprocessor, field='student')
        super().__init__(data_preprocessor=student.data_preprocessor, init_cfg=init_cfg)
        self.student = student
        self.set_step_options(memory_saving, channels_last)

    def set_step_options(self, memory_saving: bool, channels_last: Optional[bool]) -> None:
        """Check and set the ``memory_saving`` and ``channels_last`` switches."""
        if not isinstance(memory_saving, bool):
            raise ConfigError(f'model.memory_saving must be True or False, got {memory_saving!r}')
        if channels_last not in (None, True, False):
            raise ConfigError(f'model.channels_last must be None (channels-last on the CPU), '
                              f'True or False, got {channels_last!r}')
        self.memory_saving = memory_saving
        self.channels_last = channels_last

    def step_layout(self, inputs: Tensor) -> Tensor:
        """The batch that enters the networks of a training step, in the memory format the
        step runs in: channels-last if ``channels_last`` is True, or None and the batch is on
        the CPU. Every layer keeps the format of its input, so this one conversion (of the
        images) sets the format of the whole step; the parameters keep theirs, so
        checkpoints, export and inference are those of the contiguous model."""
        channels_last = inputs.device.type == 'cpu' if self.channels_last is None \
            else self.channels_last
        if channels_last and inputs.dim() == 4:
            return inputs.contiguous(memory_format=torch.channels_last)
        return inputs

    def run_training_only(self, function: Callable[..., Any], *args,
                          modules: Sequence[nn.Module] = ()) -> Any:
        """``function(*args)``, a forward pass of training-only modules (``modules``;
        ``function`` itself if it is a module). With ``memory_saving`` in training, its
        activations are recomputed in the backward pass instead of kept
        (:func:`~mmselfkd.models.utils.recompute_in_backward`; pass tensors as separate
        arguments)."""
        return recompute_in_backward(function, *args, modules=modules or [function],
                                     enabled=self.memory_saving and self.training)

    @classmethod
    def deploy_prefix(cls, model_cfg: dict) -> str:
        """State-dict prefix of the deployable model in a checkpoint of this algorithm."""
        return f'{cls.deploy_attr}.'

    @classmethod
    def deploy_config(cls, model_cfg: dict) -> dict:
        """The node of ``model_cfg`` that configures the deployable model (changed in place
        by the tools, e.g. to initialise its backbone)."""
        return model_cfg[cls.deploy_attr]

    @property
    def deployable(self) -> nn.Module:
        return getattr(self, self.deploy_attr)

    def forward(self, inputs: Tensor, data_samples: Optional[List] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.deployable(inputs, data_samples, mode='tensor')
        raise RuntimeError(f'Invalid mode "{mode}"; expected "loss", "predict" or "tensor".')

    def predict(self, inputs: Tensor, data_samples: Optional[List] = None) -> List:
        """Predictions of the deployable model (algorithms may add extra head scores)."""
        return self.deployable(inputs, data_samples, mode='predict')

    def loss(self, inputs: Tensor, data_samples: List) -> Dict[str, Tensor]:
        raise NotImplementedError
