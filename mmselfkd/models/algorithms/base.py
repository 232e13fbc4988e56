"""The base of every mmselfkd algorithm: a deployable host model plus training-only modules."""
import copy
from typing import Dict, List, Optional, Union

from mmengine.model import BaseModel
from mmengine.registry import MODELS as ROOT_MODELS
from torch import Tensor, nn

from mmselfkd.registry import MODELS


def build_host_model(cfg: Union[dict, nn.Module], data_preprocessor: Optional[dict] = None,
                     field: str = 'student') -> nn.Module:
    """Build an mmpretrain/mmseg/mmdet model from its ordinary config.

    The host config resolves in the current default scope (``default_scope`` of the config),
    so unprefixed host types such as ``ImageClassifier`` work. The data preprocessor that the
    Runner injects from the config's top level is handed to the host, which owns it.
    """
    if isinstance(cfg, nn.Module):
        return cfg
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(f'model.{field} must be a model config dict with a "type", got {cfg!r}')
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

    Args:
        student: config (or module) of the deployable mmpretrain/mmseg/mmdet model.
        data_preprocessor: injected by the Runner from the config's top level and handed to
            the student, whose data preprocessor the algorithm reuses.
        init_cfg: initialisation config of the wrapper.
    """

    #: attribute that holds the deployable network
    deploy_attr = 'student'

    def __init__(self, student: Union[dict, nn.Module],
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        student = build_host_model(student, data_preprocessor, field='student')
        super().__init__(data_preprocessor=student.data_preprocessor, init_cfg=init_cfg)
        self.student = student

    @classmethod
    def deploy_prefix(cls, model_cfg: dict) -> str:
        """State-dict prefix of the deployable model in a checkpoint of this algorithm."""
        return f'{cls.deploy_attr}.'

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
