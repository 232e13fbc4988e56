"""Reproduce a results table: each config and its baseline twin, several seeds, one command.

    python tools/reproduce.py CONFIG [CONFIG ...] [--seeds 3] [--baseline B [B ...]]
                              [--gpus N] [--work-dir D] [--metric KEY]
                              [--cfg-options k=v ...] [--method-cfg-options k=v ...]

Every run goes through ``tools/train.py`` (``tools/dist_train.sh`` with ``--gpus`` N > 1) with
``--work-dir D/<folder>/<name>/seed_<s>`` and ``randomness.seed=<s>``, seeds 0 .. N-1. The
baseline twin of a config is the ``Baseline`` of its entry in ``configs/*/metafile.yml``, or
the one named with ``--baseline``. A run that finished (``reproduce.json`` in its work
directory) is skipped; one that was interrupted continues with ``--resume``. Then
``D/results.md`` and ``D/results.csv`` get, per config, the final and best value of its
validation metric (top-1 accuracy, mIoU or COCO box mAP, as logged by MMEngine) with mean and
standard deviation over seeds, the gain over the baseline, and the paper's number from the
metafile; ``D/curves/<folder>_<name>.png`` shows each config's curves beside its baseline's.
"""
import argparse
import csv
import io
import json
import os
import os.path as osp
import re
import statistics
import subprocess
import sys
import time
from collections import deque
from typing import Dict, List, Optional

import yaml
from mmengine.config import Config, DictAction

from mmselfkd.utils.errors import SetupError
from mmselfkd.utils.fileio import atomic_write
from mmselfkd.utils.run_logs import load_run_scalars, primary_metric

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

MARKER = 'reproduce.json'
EPOCH_LINE = re.compile(r'Epoch\(train\)\s*\[(\d+)\]\[\s*(\d+)/(\d+)\]')
ITER_LINE = re.compile(r'Iter\(train\)\s*\[\s*(\d+)/(\d+)\]')
ETA = re.compile(r'eta: (\S+)')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train configs and their baseline twins for several seeds and tabulate '
        'mean +/- std, the gain over the baseline and the paper numbers')
    parser.add_argument('configs', nargs='+', help='method config files')
    parser.add_argument('--seeds', type=int, default=3, help='runs per config: seeds 0..N-1')
    parser.add_argument(
        '--baseline', nargs='+',
        help="baseline twin of each config, in the order of the configs ('none': no "
        'baseline); default: the Baseline of the config in its metafile.yml')
    parser.add_argument('--gpus', type=int, default=0,
                        help='GPUs per run: N > 1 launches tools/dist_train.sh CONFIG N')
    parser.add_argument('--work-dir', default='work_dirs/reproduce',
                        help='where the runs, results.md, results.csv and curves/ go')
    parser.add_argument('--metric', help='validation metric to report (default: the first '
                        'logged of accuracy/top1, mIoU, coco/bbox_mAP, pascal_voc/mAP)')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='settings for every run (method and baseline), as tools/train.py')
    parser.add_argument('--method-cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='settings for the method runs only, e.g. '
                        'model.teacher_checkpoint=T.pth for an HSSAKD student')
    return parser.parse_args(argv)


# ------------------------------------------------------------------------------ metafiles

def load_metafiles(root: str = ROOT) -> Dict[str, dict]:
    """Entries of ``root/model-index.yml``'s metafiles by config path relative to ``root``."""
    index_path = osp.join(root, 'model-index.yml')
    if not osp.isfile(index_path):
        return {}
    with open(index_path) as f:
        imports = yaml.safe_load(f)['Import']
    entries = {}
    for metafile in imports:
        with open(osp.join(root, metafile)) as f:
            for model in yaml.safe_load(f)['Models']:
                entries[osp.normpath(model['Config'])] = model
    return entries


def paper_value(entry: Optional[dict]):
    """``(value, metric name)`` of the paper's result in a metafile entry, or ``(None, None)``."""
    for result in (entry or {}).get('Results') or []:
        for name, value in (result.get('Metrics') or {}).items():
            return value, name
    return None, None


# -------------------------------------------------------------------------------- runs

class Run:
    """One training run: a config, a seed and its work directory."""

    def __init__(self, config: str, seed: int, work_dir: str, cfg_options: List[str]):
        self.config = osp.abspath(config)
        self.seed = seed
        self.work_dir = osp.abspath(work_dir)
        # the last value of a key wins in tools/train.py's --cfg-options
        self.cfg_options = list(cfg_options) + [f'randomness.seed={seed}']

    @property
    def settings(self) -> dict:
        return dict(config=config_key(self.config), seed=self.seed, cfg_options=self.cfg_options)

    def finished(self) -> bool:
        """True when this run finished with these settings (other settings raise)."""
        marker = osp.join(self.work_dir, MARKER)
        if not osp.isfile(marker):
            return False
        with open(marker) as f:
            done = json.load(f)
        if done != self.settings:
            raise SetupError(
                f'{self.work_dir} holds a finished run of other settings ({done}), not of '
                f'{self.settings}: choose another --work-dir or remove that run')
        return True

    def interrupted(self) -> bool:
        """True when an earlier start left a checkpoint to resume from."""
        return osp.isdir(self.work_dir) and any(
            name == 'last_checkpoint' or name.endswith('.pth') for name in os.listdir(self.work_dir))

    def command(self, gpus: int, resume: bool) -> List[str]:
        args = [self.config, '--work-dir', self.work_dir]
        if resume:
            args.append('--resume')
        args += ['--cfg-options'] + self.cfg_options
        if gpus > 1:
            return ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), args[0], str(gpus)] + args[1:]
        return [sys.executable, osp.join(ROOT, 'tools', 'train.py')] + args


def config_key(config: str) -> str:
    """``<folder>/<name>`` of a config, used for its work directory and in the tables."""
    path = osp.normpath(osp.relpath(osp.abspath(config), osp.join(ROOT, 'configs')))
    if path.startswith('..'):
        path = osp.basename(config)
    return osp.splitext(path)[0]


def schedule_length(config: str, cfg_options: List[str]) -> str:
    """``max_epochs`` (or ``max_iters``) of a config, for progress lines; checks it loads."""
    cfg = Config.fromfile(config)
    if cfg_options:
        # tools/train.py's parsing of KEY=VALUE pairs
        parser = argparse.ArgumentParser()
        parser.add_argument('--cfg-options', nargs='+', action=DictAction)
        cfg.merge_from_dict(parser.parse_args(['--cfg-options', *cfg_options]).cfg_options)
    train_cfg = cfg.get('train_cfg') or {}
    return str(train_cfg.get('max_epochs', train_cfg.get('max_iters', '?')))


def train(run: Run, label: str, gpus: int, length: str) -> bool:
    """Run ``tools/train.py`` for ``run``, printing a progress line per epoch (or minute)."""
    resume = run.interrupted()
    print(f'{label}: {"resuming" if resume else "starting"} in {run.work_dir}', flush=True)
    started = time.time()
    tail = deque(maxlen=60)
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    # in the caller's directory, as a user runs tools/train.py (data roots are relative to it)
    proc = subprocess.Popen(run.command(gpus, resume), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    last_epoch, last_print = None, 0.0
    for line in proc.stdout:
        tail.append(line)
        epoch, it = EPOCH_LINE.search(line), ITER_LINE.search(line)
        if not (epoch or it):
            continue
        eta = ETA.search(line)
        where = (f'epoch {epoch.group(1)}/{length} (iter {epoch.group(2)}/{epoch.group(3)})'
                 if epoch else f'iter {it.group(1)}/{it.group(2)}')
        new_epoch = epoch is not None and epoch.group(1) != last_epoch
        if new_epoch or time.time() - last_print > 60:
            print(f'{label}: {where}, eta {eta.group(1) if eta else "?"}', flush=True)
            last_print = time.time()
            last_epoch = epoch.group(1) if epoch else last_epoch
    code = proc.wait()
    minutes = (time.time() - started) / 60
    if code != 0:
        print(f'{label}: FAILED (exit {code}) after {minutes:.1f} min; the end of its output:\n'
              + ''.join(tail), file=sys.stderr, flush=True)
        return False
    with atomic_write(osp.join(run.work_dir, MARKER), 'w') as f:
        json.dump(run.settings, f, indent=1)
    print(f'{label}: done in {minutes:.1f} min', flush=True)
    return True


# ------------------------------------------------------------------------------- tables

def run_values(run: Run, metric: Optional[str]):
    """``(metric, final, best)`` of a finished run, read from its logs."""
    scalars = load_run_scalars(run.work_dir)
    name = metric or primary_metric(scalars)
    values = [entry[name] for entry in scalars.val if name in entry]
    if not values:
        raise SetupError(f'{run.work_dir}: no validation logged {name}')
    return name, values[-1], max(values)


def mean_std(values: List[float]):
    """Mean and sample standard deviation (None for a single value)."""
    if not values:
        return None, None
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else None)


def gain(method: List[float], baseline: List[float]):
    """Difference of the means and its standard error sqrt(s_m^2/n_m + s_b^2/n_b)."""
    if not method or not baseline:
        return None, None
    diff = statistics.mean(method) - statistics.mean(baseline)
    if len(method) < 2 or len(baseline) < 2:
        return diff, None
    return diff, (statistics.variance(method) / len(method)
                  + statistics.variance(baseline) / len(baseline)) ** 0.5


def fmt(value, spread=None, sign=False) -> str:
    if value is None:
        return 'n/a'
    text = f'{value:+.2f}' if sign else f'{value:.2f}'
    return text if spread is None else f'{text} ± {spread:.2f}'


def summarise(key: str, runs: List[Run], metric: Optional[str]) -> dict:
    finished = [run for run in runs if osp.isfile(osp.join(run.work_dir, MARKER))]
    values = [run_values(run, metric) for run in finished]
    names = sorted({name for name, _, _ in values})
    if len(names) > 1:
        raise SetupError(f'the runs of {key} logged different metrics {names}: name one '
                         'with --metric')
    return dict(config=key, metric=names[0] if names else (metric or ''),
                seeds=[run.seed for run in finished], planned=len(runs),
                final=[final for _, final, _ in values], best=[best for _, _, best in values],
                work_dirs=[run.work_dir for run in finished])


def write_tables(work_dir: str, rows: List[dict]) -> None:
    """``results.csv`` (full precision, per-seed values) and ``results.md``."""
    fields = ['config', 'role', 'baseline', 'metric', 'seeds_done', 'seeds_planned',
              'final_mean', 'final_std', 'best_mean', 'best_std', 'gain_final', 'gain_final_se',
              'gain_best', 'gain_best_se', 'paper', 'paper_metric', 'seeds', 'final_per_seed',
              'best_per_seed', 'work_dirs']
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator='\n')
    writer.writeheader()
    lines = [
        '# Results', '',
        'Validation metric of the deployed model as logged by MMEngine (`accuracy/top1`: '
        'top-1 %, `mIoU`: mean IoU %, `coco/bbox_mAP`: COCO box AP). *final*: at the last '
        'validation; *best*: the best validation. Mean ± sample standard deviation over seeds; '
        'gain: method mean − baseline mean ± the standard error of that difference. *paper*: '
        'the number in the config\'s metafile.yml.', '',
        '| config | role | metric | seeds | final | best | gain (final) | gain (best) | paper '
        '| final per seed |',
        '|---|---|---|---|---|---|---|---|---|---|']
    for row in rows:
        final_mean, final_std = mean_std(row['final'])
        best_mean, best_std = mean_std(row['best'])
        gain_final, gain_final_se = row.get('gain_final', (None, None))
        gain_best, gain_best_se = row.get('gain_best', (None, None))
        writer.writerow(dict(
            config=row['config'], role=row['role'], baseline=row.get('baseline') or '',
            metric=row['metric'], seeds_done=len(row['seeds']), seeds_planned=row['planned'],
            final_mean=final_mean, final_std=final_std, best_mean=best_mean, best_std=best_std,
            gain_final=gain_final, gain_final_se=gain_final_se, gain_best=gain_best,
            gain_best_se=gain_best_se, paper=row['paper'], paper_metric=row['paper_metric'] or '',
            seeds=';'.join(map(str, row['seeds'])),
            final_per_seed=';'.join(map(repr, row['final'])),
            best_per_seed=';'.join(map(repr, row['best'])), work_dirs=';'.join(row['work_dirs'])))
        lines.append(
            f"| {row['config']} | {row['role']} | {row['metric']} | "
            f"{len(row['seeds'])}/{row['planned']} | {fmt(final_mean, final_std)} | "
            f"{fmt(best_mean, best_std)} | "
            f"{fmt(gain_final, gain_final_se, sign=True) if row['role'] == 'method' else ''} | "
            f"{fmt(gain_best, gain_best_se, sign=True) if row['role'] == 'method' else ''} | "
            f"{fmt(row['paper'])} | {', '.join(f'{v:.2f}' for v in row['final'])} |")
    with atomic_write(osp.join(work_dir, 'results.csv'), 'w') as f:
        f.write(buffer.getvalue())
    with atomic_write(osp.join(work_dir, 'results.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


def plot(work_dir: str, key: str, runs: List[Run], baseline_runs: List[Run]) -> bool:
    """``curves/<folder>_<name>.png``: the config's and its baseline's curves (seeds as a band)."""
    dirs = [run.work_dir for run in runs + baseline_runs
            if osp.isfile(osp.join(run.work_dir, MARKER))]
    if not dirs:
        return True
    os.makedirs(osp.join(work_dir, 'curves'), exist_ok=True)
    out = osp.join(work_dir, 'curves', key.replace('/', '_') + '.png')
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'analysis', 'plot_curves.py'),
                           *dirs, '--title', key, '--out', out], capture_output=True, text=True)
    if proc.returncode != 0:
        print(f'plotting {key} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}',
              file=sys.stderr)
        return False
    print(f'curves: {out}')
    return True


# --------------------------------------------------------------------------------- main

def plan(args) -> List[dict]:
    """Per config: its key, its baseline config (or None) and both metafile entries."""
    if args.seeds < 1:
        raise SetupError(f'--seeds must be at least 1, got {args.seeds}')
    if args.baseline is not None and len(args.baseline) != len(args.configs):
        raise SetupError(f'--baseline needs one config (or none) per config: got '
                         f'{len(args.baseline)} for {len(args.configs)} configs')
    metafiles = load_metafiles()
    items = []
    for i, config in enumerate(args.configs):
        if not osp.isfile(config):
            raise SetupError(f'no config file {config}')
        entry = metafiles.get(osp.normpath(osp.relpath(osp.abspath(config), ROOT)))
        if args.baseline is not None:
            baseline = None if args.baseline[i].lower() == 'none' else args.baseline[i]
        else:
            baseline = (entry or {}).get('Baseline')
            baseline = osp.join(ROOT, baseline) if baseline else None
        if baseline is not None and not osp.isfile(baseline):
            raise SetupError(f'no baseline config file {baseline} (for {config})')
        baseline_entry = metafiles.get(
            osp.normpath(osp.relpath(osp.abspath(baseline), ROOT))) if baseline else None
        items.append(dict(config=config, key=config_key(config), entry=entry,
                          baseline=baseline, baseline_entry=baseline_entry))
    return items


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        items = plan(args)
        runs: Dict[str, List[Run]] = {}
        lengths: Dict[str, str] = {}
        for item in items:
            for config, options in ((item['config'], args.cfg_options + args.method_cfg_options),
                                    (item['baseline'], args.cfg_options)):
                if config is None or config_key(config) in runs:
                    continue
                key = config_key(config)
                lengths[key] = schedule_length(config, options)
                runs[key] = [Run(config, seed, osp.join(args.work_dir, key, f'seed_{seed}'),
                                 options) for seed in range(args.seeds)]
        todo = [run for key in runs for run in runs[key] if not run.finished()]
    except SetupError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    total = sum(len(r) for r in runs.values())
    print(f'{total} runs ({total - len(todo)} already finished) in {args.work_dir}', flush=True)
    ok = True
    for number, run in enumerate(todo, 1):
        key = config_key(run.config)
        label = f'[run {number}/{len(todo)}] {key} seed {run.seed}'
        ok &= train(run, label, args.gpus, lengths[key])

    rows = []
    try:
        for item in items:
            paper, paper_metric = paper_value(item['entry'])
            base_key = config_key(item['baseline']) if item['baseline'] else None
            base = None
            if base_key is not None and base_key not in [r['config'] for r in rows]:
                base_paper, base_paper_metric = paper_value(item['baseline_entry'])
                base = summarise(base_key, runs[base_key], args.metric)
                base.update(role='baseline', paper=base_paper, paper_metric=base_paper_metric)
                rows.append(base)
            elif base_key is not None:
                base = next(r for r in rows if r['config'] == base_key)
            row = summarise(item['key'], runs[item['key']], args.metric)
            row.update(role='method', baseline=base_key, paper=paper, paper_metric=paper_metric)
            if base is not None:
                row['gain_final'] = gain(row['final'], base['final'])
                row['gain_best'] = gain(row['best'], base['best'])
            rows.append(row)
        os.makedirs(args.work_dir, exist_ok=True)
        write_tables(args.work_dir, rows)
    except SetupError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    print(f"results: {osp.join(args.work_dir, 'results.md')} and results.csv")
    for item in items:
        base_key = config_key(item['baseline']) if item['baseline'] else None
        ok &= plot(args.work_dir, item['key'], runs[item['key']],
                   runs[base_key] if base_key else [])
    if not ok:
        print('some runs failed (see above): the tables hold the finished runs only; run the '
              'same command again to resume', file=sys.stderr)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
