"""Plot training curves of mmselfkd runs from MMEngine's ``vis_data/scalars.json``.

    python tools/analysis/plot_curves.py RUN [RUN ...] [--keys KEY ...] [--legend NAME ...]
                                         [--title T] [--out curves.png] [--window-size 12*7]

The flags follow mmpretrain's ``tools/analysis_tools/analyze_logs.py plot_curve``. A RUN is a
``--work-dir`` of ``tools/train.py`` (every start of the run is read, ``--resume`` included), a
folder of ``seed_<n>`` work directories (as ``tools/reproduce.py`` writes them), or one
``scalars.json``. Runs with the same legend name are one curve: the mean over them (seeds)
with a band from their minimum to their maximum. The default legend name of
``.../<folder>/<name>/seed_<n>`` is ``<folder>/<name>``, so the seeds of a config group by
themselves.

Each key gets its own panel. ``--keys`` takes logged names or patterns (``'distill.*'``); by
default every loss term (``loss``, ``loss_cls``, ``self_teacher.loss_cls``,
``distill.loss_kl`` ...), the learning rate(s) and every validation metric. Training values are
plotted against the (fractional) epoch of epoch-based runs and the iteration otherwise,
validation values against the epoch or iteration they were measured at.
"""
import argparse
import fnmatch
import glob
import os.path as osp
import re
import sys
from collections import OrderedDict
from typing import Dict, List, Tuple

import numpy as np

from mmselfkd.utils.errors import SetupError
from mmselfkd.utils.fileio import atomic_write
from mmselfkd.utils.run_logs import RunScalars, load_run_scalars, load_scalar_files

BOOKKEEPING = {'step', 'epoch', 'iter', 'time', 'data_time', 'memory'}
SEED_DIR = re.compile(r'seed_\d+$')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Plot curves from MMEngine scalars.json logs')
    parser.add_argument('runs', nargs='+',
                        help='work directories, folders of seed_<n> work directories, or '
                        'scalars.json files')
    parser.add_argument('--keys', nargs='+',
                        help='logged names or patterns to plot, one panel each (default: every '
                        'loss term, the learning rate and the validation metrics)')
    parser.add_argument('--legend', nargs='+',
                        help='a name per RUN; runs with the same name are averaged (seeds)')
    parser.add_argument('--title', help='title of the figure')
    parser.add_argument('--out', help='image file to write (default: show the figure)')
    parser.add_argument('--window-size', default='12*7',
                        help='figure size in inches, "W*H" (as analyze_logs.py)')
    parser.add_argument('--style', default='whitegrid',
                        help='seaborn style, if seaborn is installed (as analyze_logs.py)')
    args = parser.parse_args(argv)
    if not re.fullmatch(r'\d+\*\d+', args.window_size):
        parser.error(f'--window-size must be W*H, got {args.window_size!r}')
    return args


def expand_runs(paths: List[str]) -> List[str]:
    """Work directories (or scalars.json files) of the given paths, in order."""
    runs = []
    for path in paths:
        if osp.isfile(path) or glob.glob(osp.join(glob.escape(path), '*', 'vis_data',
                                                  'scalars.json')):
            runs.append(path)
            continue
        seeds = sorted(d for d in glob.glob(osp.join(glob.escape(path), 'seed_*'))
                       if SEED_DIR.search(d))
        if not seeds:
            raise SetupError(f'{path}: neither a scalars.json, nor a work directory with '
                             '<timestamp>/vis_data/scalars.json, nor a folder of seed_<n> runs')
        runs += seeds
    return runs


def default_name(run: str) -> str:
    run = osp.normpath(osp.abspath(run))
    if osp.isfile(run):  # <work_dir>/<timestamp>/vis_data/scalars.json
        run = osp.dirname(osp.dirname(osp.dirname(run)))
    if SEED_DIR.search(run):
        parent = osp.dirname(run)
        return f'{osp.basename(osp.dirname(parent))}/{osp.basename(parent)}'
    return osp.basename(run)


def load(run: str) -> RunScalars:
    if osp.isfile(run):
        return load_scalar_files([run])
    return load_run_scalars(run)


def default_keys(scalars: List[RunScalars]) -> List[str]:
    """Loss terms, learning rates, then validation metrics, in the order first logged."""
    train_keys, val_keys = OrderedDict(), OrderedDict()
    for s in scalars:
        for entry in s.train:
            train_keys.update((k, None) for k in entry)
        for entry in s.val:
            val_keys.update((k, None) for k in entry if k not in BOOKKEEPING)
    losses = [k for k in train_keys if 'loss' in k]
    rates = [k for k in train_keys if k == 'lr' or k.endswith('.lr') or k.endswith('_lr')]
    return losses + rates + list(val_keys)


def select_keys(patterns: List[str], available: List[str]) -> List[str]:
    keys = []
    for pattern in patterns:
        matched = [k for k in available if fnmatch.fnmatchcase(k, pattern)]
        if not matched:
            raise SetupError(f'no logged key matches {pattern!r}; logged: {", ".join(available)}')
        keys += [k for k in matched if k not in keys]
    return keys


def series(scalars: RunScalars, key: str) -> Tuple[np.ndarray, np.ndarray, str]:
    """``(x, y, x label)`` of a key in one run; empty arrays when the run did not log it."""
    val = [e for e in scalars.val if key in e]
    if val:
        return (np.array([e['step'] for e in val], dtype=float),
                np.array([e[key] for e in val], dtype=float),
                'epoch' if scalars.by_epoch else 'iteration')
    train = [e for e in scalars.train if key in e]
    if not train:
        return np.array([]), np.array([]), ''
    x = np.array([e['iter'] for e in train], dtype=float)
    if scalars.by_epoch:
        # MMEngine logs the last iteration of every epoch, so the first logged epoch's last
        # iteration gives the iterations per epoch
        first = min(e['epoch'] for e in scalars.train)
        per_epoch = max(e['iter'] for e in scalars.train if e['epoch'] == first) / first
        return x / per_epoch, np.array([e[key] for e in train], dtype=float), 'epoch'
    return x, np.array([e[key] for e in train], dtype=float), 'iteration'


def plot_curves(runs: Dict[str, List[RunScalars]], keys: List[str], title: str = None,
                size: Tuple[int, int] = (12, 7)):
    """A figure with a panel per key and a curve per run group (mean, min-max band).

    Args:
        runs: legend name -> the scalars of the runs averaged under that name.
        keys: logged names, one panel each.
        title: figure title.
        size: figure size in inches.

    Returns:
        matplotlib.figure.Figure: the figure (the mean curve of a group is its line).
    """
    import matplotlib.pyplot as plt
    cols = min(3, len(keys))
    rows = (len(keys) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=size, squeeze=False)
    for ax, key in zip(axes.flat, keys):
        for name, group in runs.items():
            curves = [series(s, key) for s in group]
            curves = [c for c in curves if len(c[0])]
            if not curves:
                continue
            # seeds of one config log the same steps; keep those that all of them logged
            common = sorted(set.intersection(*(set(c[0]) for c in curves)))
            ys = np.stack([np.array([y[list(x).index(v)] for v in common])
                           for x, y, _ in curves])
            line, = ax.plot(common, ys.mean(0), label=name if len(curves) == 1
                            else f'{name} (mean of {len(curves)})', linewidth=1,
                            marker='o' if len(common) <= 30 else None, markersize=3)
            if len(curves) > 1:
                ax.fill_between(common, ys.min(0), ys.max(0), color=line.get_color(),
                                alpha=0.2, linewidth=0)
            ax.set_xlabel(curves[0][2])
        ax.set_title(key, fontsize=10)
        ax.grid(True, alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis('off')
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def main(argv=None):
    args = parse_args(argv)
    import matplotlib
    if args.out:
        matplotlib.use('Agg')
    elif matplotlib.get_backend().lower() == 'agg':
        print('error: no display to show the figure on: write it to a file with --out',
              file=sys.stderr)
        sys.exit(1)
    try:
        import seaborn as sns
        sns.set_style(args.style)
    except ImportError:
        pass
    try:
        run_paths = expand_runs(args.runs)
        if args.legend is not None and len(args.legend) != len(run_paths):
            raise SetupError(f'--legend needs a name per run: {len(args.legend)} names for '
                             f'{len(run_paths)} runs ({", ".join(run_paths)})')
        names = args.legend or [default_name(r) for r in run_paths]
        groups: Dict[str, List[RunScalars]] = OrderedDict()
        for name, path in zip(names, run_paths):
            groups.setdefault(name, []).append(load(path))
        available = default_keys([s for g in groups.values() for s in g])
        logged = list(OrderedDict.fromkeys(k for g in groups.values() for s in g
                                           for e in s.train + s.val for k in e
                                           if k not in BOOKKEEPING))
        keys = select_keys(args.keys, logged) if args.keys else available
    except SetupError as e:
        print(f'error: {e}', file=sys.stderr)
        sys.exit(1)
    width, height = (int(v) for v in args.window_size.split('*'))
    fig = plot_curves(groups, keys, args.title, (width, height))
    if args.out:
        with atomic_write(args.out) as f:
            fig.savefig(f, format=osp.splitext(args.out)[1][1:] or 'png', dpi=100)
        print(f'saved {len(keys)} panels of {len(run_paths)} runs to {args.out}')
    else:
        import matplotlib.pyplot as plt
        plt.show()
    return fig


if __name__ == '__main__':
    main()
