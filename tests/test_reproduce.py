"""tools/reproduce.py and tools/analysis/plot_curves.py end to end on a tiny CIFAR-100 set:
FRSKD and its baseline twin, 2 seeds x 2 epochs; the tables must hold exactly what the runs
logged, a second call must skip the finished runs, an interrupted run must resume."""
import csv
import glob
import importlib.util
import json
import os
import os.path as osp
import re
import shutil
import statistics

import numpy as np
import pytest
import yaml

pytestmark = pytest.mark.slow

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
METHOD = 'configs/frskd/resnet18_cifar100.py'


def logged(run_dir):
    """(train, val) entries by step over every start of a run, later starts overriding."""
    train, val = {}, {}
    for path in sorted(glob.glob(osp.join(run_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                entry = json.loads(line)
                (train if 'iter' in entry else val)[entry['step']] = entry
    return [train[k] for k in sorted(train)], [val[k] for k in sorted(val)]


def top1(run_dir):
    values = [e['accuracy/top1'] for e in logged(run_dir)[1]]
    return values[-1], max(values)


def read_csv(work_dir):
    with open(osp.join(work_dir, 'results.csv')) as f:
        return {row['config']: row for row in csv.DictReader(f)}


@pytest.fixture(scope='module')
def reproduced(tmp_path_factory, tiny_cifar100):
    from conftest import run_tool, tiny_cifar_options
    work_dir = str(tmp_path_factory.mktemp('reproduce'))
    args = ['tools/reproduce.py', METHOD, '--seeds', '2', '--work-dir', work_dir,
            '--cfg-options', *tiny_cifar_options(tiny_cifar100, batch_size=8, max_epochs=2)]
    proc = run_tool(args, timeout=1200)
    return work_dir, args, proc


def test_table_holds_the_logged_numbers_and_the_paper_number(reproduced):
    work_dir, _, proc = reproduced
    assert '[run 1/4] frskd/resnet18_cifar100 seed 0: epoch 1/2 (iter 1/4), eta' in proc.stdout
    assert '[run 4/4] baseline/resnet18_cifar100 seed 1: done' in proc.stdout
    rows = read_csv(work_dir)
    assert list(rows) == ['baseline/resnet18_cifar100', 'frskd/resnet18_cifar100']
    with open(osp.join(REPO, 'configs', 'frskd', 'metafile.yml')) as f:
        entry = next(m for m in yaml.safe_load(f)['Models'] if m['Config'] == METHOD)
    paper = entry['Results'][0]['Metrics']['Top 1 Accuracy']
    with open(osp.join(work_dir, 'results.md')) as f:
        md = f.read()
    per_config = {}
    for key, row in rows.items():
        runs = [osp.join(work_dir, key, f'seed_{s}') for s in (0, 1)]
        finals, bests = zip(*(top1(run) for run in runs))
        per_config[key] = finals, bests
        assert row['metric'] == 'accuracy/top1' and row['seeds'] == '0;1'
        assert [float(v) for v in row['final_per_seed'].split(';')] == list(finals)
        assert [float(v) for v in row['best_per_seed'].split(';')] == list(bests)
        assert float(row['final_mean']) == statistics.mean(finals)
        assert float(row['final_std']) == pytest.approx(statistics.stdev(finals), abs=1e-12)
        assert float(row['best_mean']) == statistics.mean(bests)
        # each run trained with its own seed
        for seed, run in enumerate(runs):
            with open(osp.join(run, 'resnet18_cifar100.py')) as f:
                assert re.search(r'randomness = dict\([^)]*seed=(\d+)', f.read()).group(1) == \
                    str(seed)
        line = next(line for line in md.splitlines() if line.startswith(f'| {key} |'))
        assert f'| {statistics.mean(finals):.2f} ± {statistics.stdev(finals):.2f} |' in line
        assert ', '.join(f'{v:.2f}' for v in finals) in line
    method, base = rows['frskd/resnet18_cifar100'], rows['baseline/resnet18_cifar100']
    assert method['baseline'] == 'baseline/resnet18_cifar100' and method['role'] == 'method'
    assert float(method['gain_final']) == pytest.approx(
        statistics.mean(per_config['frskd/resnet18_cifar100'][0])
        - statistics.mean(per_config['baseline/resnet18_cifar100'][0]), abs=1e-12)
    assert float(method['paper']) == paper == 77.71 and base['paper'] == ''
    assert '| 77.71 |' in md
    assert osp.getsize(osp.join(work_dir, 'curves', 'frskd_resnet18_cifar100.png')) > 10000


def test_second_call_skips_finished_runs_and_refuses_other_settings(reproduced):
    from conftest import run_tool
    work_dir, args, _ = reproduced
    before = sorted(glob.glob(osp.join(work_dir, '*', '*', 'seed_*', '2*')))
    with open(osp.join(work_dir, 'results.md')) as f:
        table = f.read()
    proc = run_tool(args)
    assert '4 runs (4 already finished)' in proc.stdout and '[run ' not in proc.stdout
    assert sorted(glob.glob(osp.join(work_dir, '*', '*', 'seed_*', '2*'))) == before
    with open(osp.join(work_dir, 'results.md')) as f:
        assert f.read() == table
    proc = run_tool(args + ['model.alpha=1.0'], check=False)
    assert proc.returncode == 1 and 'holds a finished run of other settings' in proc.stderr
    assert sorted(glob.glob(osp.join(work_dir, '*', '*', 'seed_*', '2*'))) == before


def test_plot_curves_draws_the_logged_values(reproduced, tmp_path):
    work_dir, _, _ = reproduced
    spec = importlib.util.spec_from_file_location(
        'plot_curves', osp.join(REPO, 'tools', 'analysis', 'plot_curves.py'))
    plot_curves = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plot_curves)

    one = osp.join(work_dir, 'frskd', 'resnet18_cifar100', 'seed_0')
    out = str(tmp_path / 'one.png')
    fig = plot_curves.main([one, '--keys', 'distill.*', 'lr', 'accuracy/top1', '--out', out])
    assert osp.getsize(out) > 10000
    train, val = logged(one)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ['distill.loss_kl', 'distill.loss_at', 'lr', 'accuracy/top1']
    per_epoch = max(e['iter'] for e in train if e['epoch'] == 1)  # 32 images / batch 8
    assert per_epoch == 4
    for ax, key in zip(fig.axes, titles):
        (line, ) = ax.lines
        x, y = line.get_data()
        source = val if key == 'accuracy/top1' else train
        assert list(y) == [e[key] for e in source]
        expected_x = [e['step'] for e in val] if source is val else \
            [e['iter'] / per_epoch for e in train]
        assert list(x) == expected_x

    # both configs, seeds as a band: the line is the mean over seeds; the baseline has no
    # distillation terms
    fig = plot_curves.main([osp.join(work_dir, 'frskd', 'resnet18_cifar100'),
                            osp.join(work_dir, 'baseline', 'resnet18_cifar100'),
                            '--keys', 'loss', 'distill.loss_kl', '--out', out])
    loss_ax, kl_ax = fig.axes[:2]
    assert [line.get_label() for line in loss_ax.lines] == [
        'frskd/resnet18_cifar100 (mean of 2)', 'baseline/resnet18_cifar100 (mean of 2)']
    assert len(kl_ax.lines) == 1
    for line, key in zip(loss_ax.lines, ('frskd', 'baseline')):
        seeds = [logged(osp.join(work_dir, key, 'resnet18_cifar100', f'seed_{s}'))[0]
                 for s in (0, 1)]
        expected = np.mean([[e['loss'] for e in t] for t in seeds], axis=0)
        assert np.allclose(line.get_ydata(), expected, rtol=0, atol=1e-12)
    assert len(loss_ax.collections) == 2  # one min-max band per config

    with pytest.raises(SystemExit):
        plot_curves.main([one, '--keys', 'no_such_key', '--out', out])


def test_interrupted_run_resumes_and_the_table_reads_every_start(reproduced):
    """An interruption after epoch 1 of 2: the checkpoint of epoch 1, the logs up to it."""
    from conftest import run_tool
    work_dir, args, _ = reproduced
    run = osp.join(work_dir, 'baseline', 'resnet18_cifar100', 'seed_1')
    os.remove(osp.join(run, 'reproduce.json'))
    for path in glob.glob(osp.join(run, '*epoch_2*')):
        os.remove(path)
    with open(osp.join(run, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(run, 'epoch_1.pth'))
    (first, ) = glob.glob(osp.join(run, '*', 'vis_data', 'scalars.json'))
    with open(first) as f:
        kept = [line for line in f if json.loads(line).get('epoch', 1) <= 1
                and json.loads(line)['step'] <= (4 if 'iter' in json.loads(line) else 1)]
    with open(first, 'w') as f:
        f.writelines(kept)
    epoch1 = [json.loads(line)['accuracy/top1'] for line in kept if 'iter' not in json.loads(line)]

    proc = run_tool(args)
    assert '4 runs (3 already finished)' in proc.stdout
    assert '[run 1/1] baseline/resnet18_cifar100 seed 1: resuming' in proc.stdout
    starts = sorted(glob.glob(osp.join(run, '*', 'vis_data', 'scalars.json')))
    assert len(starts) == 2
    with open(glob.glob(osp.join(osp.dirname(osp.dirname(starts[1])), '*.log'))[0]) as f:
        assert 'resumed epoch: 1' in f.read()
    with open(starts[1]) as f:
        resumed = {e['step']: e['accuracy/top1'] for e in map(json.loads, f) if 'iter' not in e}
    assert 2 in resumed and len(epoch1) == 1
    final, best = top1(run)  # over both starts, the later one overriding a step
    assert final == resumed[2]
    row = read_csv(work_dir)['baseline/resnet18_cifar100']
    assert float(row['final_per_seed'].split(';')[1]) == final
    assert float(row['best_per_seed'].split(';')[1]) == best
    shutil.rmtree(work_dir)
