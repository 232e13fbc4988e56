"""Read the scalars MMEngine logged for a training run (``tools/reproduce.py``, ``plot_curves``).

MMEngine's ``LocalVisBackend`` writes one JSON object per line to
``<work_dir>/<timestamp>/vis_data/scalars.json``: training lines carry ``iter`` (and ``epoch``
for epoch-based loops) besides ``step``, validation lines only ``step`` (the epoch, or the
iteration for iteration-based loops). Every start of ``tools/train.py``, a ``--resume``
included, writes a new timestamp folder, so a run's history is the union of all of them; where
two folders logged the same step (a run interrupted after its last checkpoint and resumed from
it), the later folder holds what the finished run did.
"""
import glob
import json
import os.path as osp
from typing import Dict, List, NamedTuple

from .errors import DataError

# validation metrics that rank a run, in the order they are looked for: mmpretrain's top-1,
# mmseg's mIoU, mmdet's COCO box mAP, mmdet's VOC mAP
PRIMARY_METRICS = ('accuracy/top1', 'mIoU', 'coco/bbox_mAP', 'pascal_voc/mAP')


class RunScalars(NamedTuple):
    """The logged scalars of one run, each list sorted by ``step``."""
    train: List[dict]
    val: List[dict]

    @property
    def by_epoch(self) -> bool:
        """True when training was epoch-based (validation steps are then epochs)."""
        return bool(self.train) and 'epoch' in self.train[-1]


def scalar_files(work_dir: str) -> List[str]:
    """``<work_dir>/<timestamp>/vis_data/scalars.json`` files, oldest first."""
    # MMEngine's timestamps (%Y%m%d_%H%M%S) sort chronologically as strings
    return sorted(glob.glob(osp.join(glob.escape(work_dir), '*', 'vis_data', 'scalars.json')))


def load_run_scalars(work_dir: str) -> RunScalars:
    """Merge the scalars of every start of a run, later starts overriding earlier ones.

    Args:
        work_dir (str): the ``--work-dir`` of the run.

    Returns:
        RunScalars: training and validation entries, one per step.
    """
    files = scalar_files(work_dir)
    if not files:
        raise DataError(f'{work_dir} holds no <timestamp>/vis_data/scalars.json: it is not the '
                        'work directory of a run of tools/train.py, or the run logged nothing yet')
    return load_scalar_files(files)


def load_scalar_files(files: List[str]) -> RunScalars:
    """Merge ``scalars.json`` files, a later file overriding the steps of an earlier one.

    Args:
        files (list[str]): the files, oldest first.

    Returns:
        RunScalars: training and validation entries, one per step.
    """
    train: Dict[int, dict] = {}
    val: Dict[int, dict] = {}
    for path in files:
        with open(path) as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    # the last line of a run killed while writing it
                    continue
                if 'step' not in entry:
                    raise DataError(f'{path}, line {number}: no "step" in {line.strip()[:200]}')
                (train if 'iter' in entry else val)[entry['step']] = entry
    return RunScalars(train=[train[s] for s in sorted(train)], val=[val[s] for s in sorted(val)])


def primary_metric(scalars: RunScalars) -> str:
    """The first of :data:`PRIMARY_METRICS` that the run's validation logged."""
    logged = set().union(*(entry.keys() for entry in scalars.val))
    for name in PRIMARY_METRICS:
        if name in logged:
            return name
    raise DataError(f'the run logged none of the metrics {", ".join(PRIMARY_METRICS)} '
                    f'(logged: {", ".join(sorted(logged - {"step"})) or "no validation"}); '
                    'name the metric to report with --metric')
