"""The user-facing tools end to end, on a tiny CIFAR-100 set in the official pickle format:
train -> resume -> test -> export -> reload with weights_only, a missing-data run, a
2-process gloo run, and the benchmark tool."""
import glob
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from conftest import REPO_ROOT, last_checkpoint  # noqa: E402

BASELINE = 'configs/baseline/resnet18_cifar100.py'
pytestmark = pytest.mark.slow


def test_train_resume_test_export(tmp_path, tiny_cifar100, cifar_options, tool_runner,
                                  mmpretrain_scope):
    work_dir = str(tmp_path / 'work')
    opts = cifar_options(tiny_cifar100, batch_size=8, max_epochs=1)
    tool_runner(['tools/train.py', BASELINE, '--work-dir', work_dir, '--cfg-options', *opts])
    ckpt = last_checkpoint(work_dir)
    assert ckpt.endswith('epoch_1.pth')
    # ExportDeployableHook: a plain export beside the epoch and the best checkpoint
    assert osp.isfile(osp.join(work_dir, 'epoch_1_deploy.pth'))
    assert glob.glob(osp.join(work_dir, 'best_accuracy_top1_epoch_1_deploy.pth'))

    # --resume (auto) continues from epoch 1 to epoch 2: needs the checkpoint-loading fix
    opts2 = cifar_options(tiny_cifar100, batch_size=8, max_epochs=2)
    proc = tool_runner(['tools/train.py', BASELINE, '--work-dir', work_dir, '--resume',
                        '--cfg-options', *opts2, 'default_hooks.checkpoint.max_keep_ckpts=1'])
    assert 'resumed epoch: 1' in proc.stdout + proc.stderr
    ckpt = last_checkpoint(work_dir)
    assert ckpt.endswith('epoch_2.pth')
    # epoch_1.pth was removed by max_keep_ckpts=1, and with it its export
    assert not osp.exists(osp.join(work_dir, 'epoch_1.pth'))
    assert not osp.exists(osp.join(work_dir, 'epoch_1_deploy.pth'))

    proc = tool_runner(['tools/test.py', BASELINE, ckpt, '--work-dir', work_dir,
                        '--out', str(tmp_path / 'metrics.pkl'), '--out-item', 'metrics',
                        '--cfg-options', *opts])
    assert 'accuracy/top1' in proc.stdout + proc.stderr

    out = str(tmp_path / 'plain.pth')
    tool_runner(['tools/export.py', ckpt, out])
    exported = torch.load(out, weights_only=True)
    assert exported['meta']['epoch'] == 2 and exported['meta']['stripped_prefix'] == ''
    assert set(exported['state_dict']) == set(
        torch.load(ckpt, weights_only=False)['state_dict'])
    hooked = torch.load(osp.join(work_dir, 'epoch_2_deploy.pth'), weights_only=True)
    assert all(torch.equal(hooked['state_dict'][k], v) for k, v in exported['state_dict'].items())

    # the exported file reproduces the checkpoint's predictions in a plain model
    from mmengine.registry import MODELS
    cfg = Config.fromfile(BASELINE)
    cfg.model.data_preprocessor = cfg.data_preprocessor
    plain = MODELS.build(cfg.model).eval()
    plain.load_state_dict(exported['state_dict'], strict=True)
    reference = MODELS.build(cfg.model).eval()
    reference.load_state_dict(torch.load(ckpt, weights_only=False)['state_dict'], strict=True)
    images = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    data = plain.data_preprocessor({'inputs': images}, False)
    with torch.no_grad():
        assert torch.equal(plain(data['inputs'], mode='tensor'),
                           reference(data['inputs'], mode='tensor'))

    backbone_out = str(tmp_path / 'backbone.pth')
    proc = tool_runner(['tools/export.py', ckpt, backbone_out, '--part', 'backbone',
                        '--check', BASELINE])
    assert 'OK' in proc.stdout
    keys = torch.load(backbone_out, weights_only=True)['state_dict'].keys()
    assert keys and all(k.startswith('backbone.') for k in keys)


def test_missing_cifar_stops_with_a_clear_message(tmp_path, cifar_options, tool_runner):
    empty = str(tmp_path / 'nothing_here')
    opts = [o for o in cifar_options(empty) if 'download' not in o and 'verify_md5' not in o]
    proc = tool_runner(['tools/train.py', BASELINE, '--work-dir', str(tmp_path / 'w'),
                        '--cfg-options', *opts], check=False, timeout=120)
    assert proc.returncode != 0
    assert 'cifar-100-python' in proc.stderr and 'nothing_here' in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_dist_train_two_cpu_processes(tmp_path, tiny_cifar100, cifar_options, tool_runner):
    work_dir = str(tmp_path / 'dist')
    opts = cifar_options(tiny_cifar100, batch_size=4, max_epochs=1)
    proc = tool_runner(['tools/dist_train.sh', BASELINE, '2', '--work-dir', work_dir,
                        '--cfg-options', *opts], env={'PORT': '29511'})
    log = proc.stdout + proc.stderr
    assert 'Distributed training is not used' not in log
    # 32 images, 2 processes x batch 4 -> 4 iterations per epoch
    assert 'Epoch(train) [1][4/4]' in log
    assert osp.exists(osp.join(work_dir, 'epoch_1.pth'))
    assert glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))


def test_benchmark_prints_its_figures(tmp_path, tool_runner):
    out = str(tmp_path / 'bench.json')
    proc = tool_runner(['tools/benchmark.py', BASELINE, '--batch-size', '2', '--warmup', '1',
                        '--iters', '2', '--input-size', '32', '--rounds', '2', '--tensor-memory',
                        '--profile', '--json', out])
    assert 'step (ms, median)' in proc.stdout and '2 round(s)' in proc.stdout
    assert 'before the first step; step tensors' in proc.stdout
    with open(out) as f:
        result = json.load(f)['results'][0]
    assert len(result['step_time_s_per_round']) == 2
    assert result['step_time_s'] == pytest.approx(sum(result['step_time_s_per_round']) / 2)
    assert result['deploy_params_m'] == pytest.approx(11.220, abs=5e-4)
    assert result['train_params_m'] == result['deploy_params_m']
    # the step's memory: the process grows during the steps, by at least the tensors of one
    assert 0 < result['memory_before_mib'] < result['peak_memory_mib']
    assert 0 < result['step_tensor_peak_mib']
    # ResNet-18 at 32x32: 555.5 M MACs per image (the official cifarresnet18) = 1.111 GFLOPs
    assert result['deploy_gflops_per_img'] == pytest.approx(2 * 0.5555, rel=2e-3)
    # --profile: operator times per step, their sums per kind, and the printed table
    operators = result['operator_ms']
    assert operators['kind:convolution'] > 0 and operators['kind:normalisation'] > 0
    assert operators['kind:optimizer update'] > 0
    assert 'aten::convolution_backward' in operators
    kinds = sum(v for k, v in operators.items() if k.startswith('kind:'))
    ops = sum(v for k, v in operators.items() if not k.startswith('kind:'))
    assert kinds == pytest.approx(ops, rel=0.05)  # the median over rounds of each entry
    assert '| convolution | ' in proc.stdout and 'operators whose times differ most' in proc.stdout


REUSE_PROBE = """
import resource, sys, torch
from mmselfkd.utils.launch import reuse_freed_cpu_memory
applied = reuse_freed_cpu_memory() if sys.argv[1] == 'on' else False
faults = []
for _ in range(4):  # 64 MiB activations, allocated, touched and freed again and again
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    torch.ones(16, 1024, 1024).sum()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(applied, min(faults[1:]))
"""


def test_reuse_freed_cpu_memory_removes_page_faults():
    """Without it, glibc maps fresh pages for every large block (thousands of page faults per
    64 MiB tensor); with it, later steps reuse the pages of earlier ones."""
    def probe(mode):
        out = subprocess.run([sys.executable, '-c', REUSE_PROBE, mode], check=True,
                             capture_output=True, text=True, cwd=REPO_ROOT).stdout.split()
        return out[0] == 'True', int(out[1])
    applied, faults_on = probe('on')
    assert applied
    _, faults_off = probe('off')
    assert faults_off > 10000 and faults_on < 100


def test_module_layouts_times_the_modules_of_a_step(tool_runner):
    args = ['tools/analysis/module_layouts.py', 'configs/baseline/resnet32_cifar100_ffsd.py',
            '--batch-size', '2', '--iters', '1', '--warmup', '0', '--rounds', '1']
    proc = tool_runner(args + ['--modules', 'backbone.layer1', 'backbone.layer3'])
    rows = [line for line in proc.stdout.splitlines() if line.startswith('| backbone.')]
    assert [row.split(' | ')[0] for row in rows] == ['| backbone.layer1', '| backbone.layer3']
    assert '(2, 16, 32, 32)' in rows[0] and '(2, 32, 16, 16)' in rows[1]
    proc = tool_runner(args + ['--modules', 'backbone.layer9'], check=False)
    assert proc.returncode == 1 and "['backbone.layer9'] are not called" in proc.stderr
