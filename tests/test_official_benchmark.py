"""tools/analysis/official_benchmark.py: its arguments, its timing of a training loop, and (with
clones of the official repositories, which CI does not have) the official steps themselves.

The end-to-end tests run only when ``MMSELFKD_OFFICIAL_CLONES`` names a folder holding the
clones under their repository names (``FRSKD``, ``Self-KD-Lib``, ``HSAKD``, ``FFSD``); they
are skipped otherwise.
"""
import importlib.util
import json
import os
import os.path as osp
import time

import pytest
import torch

from conftest import REPO_ROOT  # noqa: E402

SCRIPT = 'tools/analysis/official_benchmark.py'
CLONES = os.environ.get('MMSELFKD_OFFICIAL_CLONES')


def load_script():
    spec = importlib.util.spec_from_file_location('official_benchmark',
                                                  osp.join(REPO_ROOT, SCRIPT))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('extra, message', [
    ([], "has no classification/utils.py: give the root of a clone of MingiJi/FRSKD"),
    (['--iters', '0'], '--iters must be >= 1'),
])
def test_arguments_are_checked_before_anything_runs(extra, message, tmp_path, tool_runner):
    root = tmp_path / 'clone'
    if extra:  # a root that looks like the FRSKD clone, so that the next check is reached
        (root / 'classification').mkdir(parents=True)
        (root / 'classification' / 'utils.py').write_text('')
    proc = tool_runner([SCRIPT, 'frskd', str(root), *extra], check=False)
    assert proc.returncode == 2
    assert message in proc.stderr


def test_timed_loader_gives_the_time_of_each_loop_iteration():
    script = load_script()
    loader = script.TimedLoader(batch_size=4, steps=3, dataset_length=40)
    assert len(loader) == 3 and len(loader.dataset) == 40
    seen = []
    for inputs, targets in loader:  # a training loop whose iterations take 20, 40, 60 ms
        seen.append((inputs.shape, targets.tolist()))
        time.sleep(0.02 * len(seen))
    assert seen == [((4, 3, 32, 32), [0, 1, 2, 3])] * 3
    times = loader.step_times()
    assert len(times) == 3
    for measured, slept in zip(times, (0.02, 0.04, 0.06)):
        assert slept <= measured < slept + 0.015


def test_timed_loader_profiles_the_steps_after_the_warm_up():
    script = load_script()
    loader = script.TimedLoader(batch_size=2, steps=3, dataset_length=2, profile_from=1)
    conv = torch.nn.Conv2d(3, 4, 3)
    for step, (inputs, _) in enumerate(loader):
        conv(inputs * (step + 1)).sum().backward()  # mul only in the steps after the warm-up
    names = {event.key: event.count for event in loader.profiler.key_averages()}
    assert names['aten::mul'] == 2 and names['aten::convolution_backward'] == 2
    operators = script.load_benchmark_tool().operator_times(loader.profiler, 2)
    assert operators['kind:convolution'] > 0 and 'aten::mul' in operators


CLONE_NAMES = {'frskd': 'FRSKD', 'mixskd': 'Self-KD-Lib', 'hssakd-online': 'HSAKD',
               'ffsd': 'FFSD'}


@pytest.mark.slow
@pytest.mark.parametrize('method', list(CLONE_NAMES))
def test_official_step_beside_ours(method, tmp_path, tool_runner):
    if not CLONES or not osp.isdir(osp.join(CLONES, CLONE_NAMES[method])):
        pytest.skip('needs MMSELFKD_OFFICIAL_CLONES: a folder with a clone of the official '
                    f'repository {CLONE_NAMES[method]}')
    out = str(tmp_path / 'result.json')
    tool_runner([SCRIPT, method, osp.join(CLONES, CLONE_NAMES[method]), '--batch-size', '4',
                 '--iters', '1', '--warmup', '1', '--rounds', '1', '--profile', '--json', out],
                timeout=900)
    with open(out) as f:
        result = json.load(f)
    assert result['method'] == method and result['batch_size'] == 4
    assert result['ours_step_time_s'] > 0 and result['official_step_time_s'] > 0
    assert result['ratio'] == pytest.approx(result['ours_step_time_s']
                                            / result['official_step_time_s'])
    for side in ('ours', 'official'):  # --profile: both steps run convolutions
        assert result['operator_ms'][side]['kind:convolution'] > 0
