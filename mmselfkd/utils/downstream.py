"""Downstream fine-tuning from an exported backbone: one config variable, checked loudly.

Downstream configs (``configs/downstream/``) declare a top-level ``backbone_checkpoint``
and initialise ``model.backbone`` from it with
``init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint, prefix='backbone.')``.
``--cfg-options backbone_checkpoint=PATH`` only changes the top-level key, so the tools
copy it into the backbone's ``init_cfg`` (:func:`apply_backbone_checkpoint`), and, because
``Pretrained`` loads non-strictly and only *warns* about missing or mis-shaped keys (a stem
silently left random), check the file against the built backbone before any training step
(:func:`check_backbone_checkpoint`).
"""
import os.path as osp
from typing import Optional

from torch import nn

from mmselfkd.models.algorithms.base import BaseSelfKDAlgorithm
from mmselfkd.registry import MODELS
from mmselfkd.utils.compat import load_local_checkpoint
from mmselfkd.utils.errors import SetupError
from mmselfkd.utils.export import compare_state_dicts

KEY = 'backbone_checkpoint'


class BackboneCheckpointError(SetupError, RuntimeError):
    """The backbone checkpoint is missing or does not fit the model's backbone."""


def apply_backbone_checkpoint(cfg) -> Optional[str]:
    """Point the backbone's ``init_cfg`` at ``cfg.backbone_checkpoint``; returns the path.

    The backbone is ``model.backbone``, or, when the model is an mmselfkd algorithm, the
    backbone of its deployable host (:func:`deployable_config`). A host given as
    ``dict(cfg_path=...)`` gets the ``init_cfg`` as a change merged into that file's model.

    Configs without the key are left untouched (returns None).
    """
    if KEY not in cfg:
        return None
    path = cfg.get(KEY)
    if not path:
        raise BackboneCheckpointError(
            f'{KEY} is not set. Export the backbone of a trained mmselfkd model with '
            '`python tools/export.py CKPT backbone.pth --part backbone` and pass '
            f'`--cfg-options {KEY}=backbone.pth`.')
    host = deployable_config(cfg.model)
    init_cfg = dict(type='Pretrained', checkpoint=path, prefix='backbone.')
    if 'cfg_path' in host:
        # replaces (not merges into) the init_cfg of the backbone in that file
        host.setdefault('backbone', dict())
        host.backbone.init_cfg = dict(init_cfg, _delete_=True)
    else:
        host.backbone.init_cfg = init_cfg
    return path


def deployable_config(model_cfg: dict) -> dict:
    """The config of the deployable host model inside ``model_cfg``: ``model_cfg`` itself
    for a plain model, else the algorithm's ``deploy_config`` (``model.student``, FFSD's
    ``model.architecture``, HSSAKD's ``model.peer`` with ``deploy='peer'``)."""
    model_type = model_cfg.get('type')
    cls = MODELS.get(model_type) if isinstance(model_type, str) else None
    if isinstance(cls, type) and issubclass(cls, BaseSelfKDAlgorithm):
        return cls.deploy_config(model_cfg)
    return model_cfg


def check_backbone_checkpoint(model: nn.Module, path: str) -> None:
    """Raise :class:`BackboneCheckpointError` unless ``path`` fills ``model.backbone`` exactly.

    ``model`` is the host model, or an mmselfkd algorithm whose deployable host is checked.
    """
    model = getattr(model, 'deployable', model)
    if not osp.isfile(path):
        raise BackboneCheckpointError(f'{KEY}={path}: no such file.')
    checkpoint = load_local_checkpoint(path, map_location='cpu')
    state_dict = checkpoint.get('state_dict', checkpoint)
    exported = {k: v for k, v in state_dict.items() if k.startswith('backbone.')}
    target = {f'backbone.{k}': v for k, v in model.backbone.state_dict().items()}
    missing, _, mismatched = compare_state_dicts(exported, target, part='backbone')
    unexpected = sorted(k for k in exported if k not in target)
    if missing or mismatched or unexpected:
        details = '\n'.join(
            [f'  missing: {k}' for k in missing] + [f'  shape mismatch: {k}' for k in mismatched]
            + [f'  unexpected: {k}' for k in unexpected])
        raise BackboneCheckpointError(
            f'{KEY}={path} does not fit model.backbone ({len(missing)} missing, '
            f'{len(mismatched)} mis-shaped, {len(unexpected)} unexpected keys); '
            'training would start from a partly random backbone:\n' + details
            + '\nCheck the depth/type of the backbone, or run `python tools/export.py CKPT OUT '
            '--part backbone --check CONFIG`.')
