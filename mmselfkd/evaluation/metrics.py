from typing import List, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric

from mmselfkd.registry import METRICS


@METRICS.register_module()
class MultiHeadAccuracy(BaseMetric):
    """Top-1 accuracy of the extra classifiers an algorithm reports during validation.

    An algorithm whose ``predict`` is asked for extra heads stores each head's scores in
    every data sample as the field ``f'{head}_score'`` (e.g. ``stage1_score``,
    ``peer_score``). The deployable model's own prediction stays in ``pred_score`` and is
    measured by mmpretrain's ``Accuracy``; this metric reports the others, plus the best of
    all heads including the deployable one, which is the selection number some official
    scripts print (MixSKD: best of the 4 stage classifiers, HSSAKD online: best peer).

    Args:
        heads: names of the extra heads.
        include_deployed: also count ``pred_score`` in ``best_top1``. Defaults to True.
        prefix: metric name prefix. Defaults to ``'heads'``: keys are ``heads/<head>_top1``
            and ``heads/best_top1``.
    """

    default_prefix = 'heads'

    def __init__(self, heads: Sequence[str], include_deployed: bool = True,
                 collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not heads:
            raise ValueError('MultiHeadAccuracy.heads must name at least one head')
        self.heads = list(heads)
        self.include_deployed = include_deployed

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            missing = [h for h in self.heads if f'{h}_score' not in sample]
            if missing:
                raise KeyError(f'MultiHeadAccuracy: data samples have no {missing} scores; '
                               'enable the extra heads of the algorithm (see its '
                               '`val_heads` argument) or remove the metric.')
            label = int(sample['gt_label'].view(-1)[0])
            result = {h: int(sample[f'{h}_score'].argmax()) == label for h in self.heads}
            if self.include_deployed:
                result['deployed'] = int(sample['pred_score'].argmax()) == label
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> dict:
        names = self.heads + (['deployed'] if self.include_deployed else [])
        correct = torch.tensor([[r[n] for n in names] for r in results], dtype=torch.float64)
        top1 = correct.mean(0) * 100
        metrics = {f'{h}_top1': float(top1[i]) for i, h in enumerate(self.heads)}
        metrics['best_top1'] = float(top1.max())
        return metrics
