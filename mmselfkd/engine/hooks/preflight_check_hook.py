from typing import Optional

import numpy as np
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmselfkd.registry import HOOKS
from mmselfkd.utils.errors import ConfigError, DataError


@HOOKS.register_module()
class PreflightCheckHook(Hook):
    """Check, before the first training step, what would otherwise fail late or silently.

    - ``train_dataloader.batch_size`` against the method's ``min_batch_size`` (MixSKD mixes
      pairs of images within a batch: with one image per process its distillation terms
      are exactly zero);
    - the class labels of the training and validation sets (datasets with
      ``get_gt_labels``, i.e. mmpretrain classification sets) against the classifier's
      ``num_classes``: an out-of-range label otherwise fails at the batch that holds it
      (an index error on the CPU, a device-side assert on CUDA), or is scored silently.

    ``tools/train.py`` adds this hook to every run.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        min_batch = getattr(model, 'min_batch_size', 1)
        batch = runner.train_dataloader.batch_size
        if batch is not None and batch < min_batch:
            raise ConfigError(
                f'train_dataloader.batch_size={batch}: {type(model).__name__} needs at least '
                f'{min_batch} images per process (the batch size is per process).')
        num_classes = _num_classes(model)
        if num_classes is None:
            return
        loaders = [('train_dataloader', runner.train_dataloader)]
        if runner.val_loop is not None:
            loaders.append(('val_dataloader', runner.val_loop.dataloader))
        for field, loader in loaders:
            _check_labels(field, loader.dataset, num_classes)


def _num_classes(model) -> Optional[int]:
    """``num_classes`` of the deployable classifier's head, if it has one."""
    host = getattr(model, 'deployable', model)
    head = getattr(host, 'head', None)
    num_classes = getattr(head, 'num_classes', None)
    return num_classes if isinstance(num_classes, int) else None


def _check_labels(field: str, dataset, num_classes: int) -> None:
    get_labels = getattr(dataset, 'get_gt_labels', None)
    if get_labels is None:
        return
    try:
        labels = np.asarray(get_labels())
    except Exception:  # multi-label or label-free sets: nothing to compare
        return
    if labels.size == 0 or not np.issubdtype(labels.dtype, np.integer):
        return
    outside = np.flatnonzero((labels < 0) | (labels >= num_classes))
    if outside.size:
        first = int(outside[0])
        raise DataError(
            f'{field}.dataset: {outside.size} labels lie outside [0, {num_classes}) '
            f'(the head\'s num_classes), e.g. sample {first} has label {int(labels[first])}. '
            'Fix the annotations or set num_classes to the number of classes of the data.')
