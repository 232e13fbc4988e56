"""Export the deployable network of a training checkpoint as a plain checkpoint.

A Runner checkpoint of an mmselfkd algorithm holds ``student.*`` (or ``leader.*``, ...)
beside training-only modules (``self_teacher.*``, ``aux_branches.*``, optimizer state,
message hub). The export keeps only the deployable network, with the prefix stripped, so
a stock mmpretrain/mmseg/mmdet config loads it; or only ``backbone.*`` for
``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')``. The file holds
tensors and plain meta (str/int/float/list/dict) only, so ``torch.load(f, weights_only=True)``
loads it anywhere, without mmselfkd.
"""
import copy
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config

from mmselfkd.version import __version__

PARTS = ('model', 'backbone')


def config_from_checkpoint(checkpoint: dict) -> Optional[Config]:
    """The training config stored by the Runner in ``meta['cfg']``, if any."""
    text = checkpoint.get('meta', {}).get('cfg') if isinstance(checkpoint, dict) else None
    if not text:
        return None
    return Config.fromstring(text, file_format='.py')


def deploy_prefix(model_cfg: Optional[dict]) -> str:
    """State-dict prefix of the deployable network for a model config (``''`` if plain)."""
    if model_cfg is None:
        return ''
    from mmselfkd.models.algorithms.base import BaseSelfKDAlgorithm
    from mmselfkd.registry import MODELS
    model_type = model_cfg.get('type', '')
    if not isinstance(model_type, str):
        return ''
    name = model_type.split('.', 1)[1] if model_type.startswith('mmselfkd.') else model_type
    cls = MODELS.module_dict.get(name)
    if cls is None or not issubclass(cls, BaseSelfKDAlgorithm):
        return ''
    return cls.deploy_prefix(model_cfg)


def _plain(value):
    """Keep only types that ``torch.load(weights_only=True)`` accepts."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def export_state_dict(checkpoint: dict, prefix: str,
                      part: str = 'model') -> Dict[str, torch.Tensor]:
    """Select the deployable tensors of ``checkpoint`` and strip ``prefix``."""
    if part not in PARTS:
        raise ValueError(f'--part must be one of {PARTS}, got {part!r}')
    state_dict = checkpoint.get('state_dict', checkpoint)
    if prefix:
        state_dict = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
    if part == 'backbone':
        state_dict = {k: v for k, v in state_dict.items() if k.startswith('backbone.')}
    state_dict = OrderedDict((k, v.detach().clone().cpu()) for k, v in state_dict.items()
                             if isinstance(v, torch.Tensor))
    if not state_dict:
        raise ValueError(f'No tensors under the prefix {prefix!r} (part={part!r}) in the '
                         'checkpoint: is it a checkpoint of this config?')
    return state_dict


def build_exports(src: str, parts: Sequence[str] = ('model', ),
                  config: Optional[str] = None) -> Tuple[Dict[str, dict], str]:
    """The exports of the checkpoint file ``src``, one dict per part, and the prefix used.

    Nothing is written: save each dict with :func:`mmselfkd.utils.fileio.save_atomic`.
    """
    from mmselfkd.utils.compat import load_local_checkpoint
    checkpoint = load_local_checkpoint(src, map_location='cpu')
    cfg = Config.fromfile(config) if config else config_from_checkpoint(checkpoint)
    if cfg is None:
        raise ValueError(f'{src} has no stored config (meta.cfg); pass the training config '
                         'with --config.')
    prefix = deploy_prefix(cfg.get('model'))
    meta = checkpoint.get('meta', {}) if isinstance(checkpoint, dict) else {}
    exports = {}
    for part in parts:
        exports[part] = {
            'state_dict': export_state_dict(checkpoint, prefix, part),
            'meta': _plain({
                'mmselfkd_version': __version__,
                'part': part,
                'source_checkpoint': osp.basename(src),
                'source_model': cfg.model.get('type'),
                'stripped_prefix': prefix,
                'epoch': meta.get('epoch'),
                'iter': meta.get('iter'),
                'dataset_meta': meta.get('dataset_meta', {}),
            }),
        }
    return exports, prefix


def compare_state_dicts(exported: Dict[str, torch.Tensor], target: Dict[str, torch.Tensor],
                        part: str = 'model') -> Tuple[List[str], List[str], List[str]]:
    """Missing, unexpected and mis-shaped keys of ``exported`` against a target model.

    With ``part='backbone'`` only the target's ``backbone.*`` keys are expected.
    """
    if part == 'backbone':
        target = {k: v for k, v in target.items() if k.startswith('backbone.')}
    missing = sorted(k for k in target if k not in exported)
    unexpected = sorted(k for k in exported if k not in target)
    mismatched = sorted(f'{k}: export {tuple(exported[k].shape)} vs model {tuple(target[k].shape)}'
                        for k in exported if k in target and exported[k].shape != target[k].shape)
    return missing, unexpected, mismatched


def describe_mismatch(missing: List[str], unexpected: List[str],
                      mismatched: List[str]) -> List[str]:
    """One line per non-empty list of :func:`compare_state_dicts`, with a few examples."""
    return [f'  {len(keys)} {title} keys, e.g. {", ".join(keys[:4])}'
            for title, keys in (('missing', missing), ('unexpected', unexpected),
                                ('mis-shaped', mismatched)) if keys]


def build_model_from_config(config: str):
    """Build the model of an mmpretrain/mmseg/mmdet (or mmselfkd) config without weights."""
    from mmengine.registry import MODELS, DefaultScope, init_default_scope
    from mmengine.utils import import_modules_from_strings
    cfg = Config.fromfile(config)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    scope = cfg.get('default_scope', 'mmpretrain')
    init_default_scope(scope)
    model_cfg = copy.deepcopy(cfg.model)
    if 'data_preprocessor' in cfg and isinstance(model_cfg, dict):
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    assert DefaultScope.get_current_instance() is not None
    return MODELS.build(model_cfg)
