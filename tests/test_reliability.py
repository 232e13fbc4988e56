"""Faults and bad input through the real tools: resume, exports, evaluation, divergence.

Every test runs ``tools/*.py`` as a user would, on a tiny CIFAR-100 set in the official
pickle format, injects the fault (a kill while a file is written, a truncated checkpoint,
another method's checkpoint, a changed schedule, a diverging learning rate ...) and checks
what the user sees: the exit status, the message, and the files, byte for byte where they
must not change.
"""
import glob
import hashlib
import os
import os.path as osp
import shutil

import pytest
import torch
from mmengine.config import Config

pytestmark = pytest.mark.slow

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
BASELINE = 'configs/baseline/resnet18_cifar100.py'
FRSKD = 'configs/frskd/resnet18_cifar100.py'
FAULTS = osp.join(REPO, 'tests', 'fault_injection')


def _file_hashes(folder):
    hashes = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = osp.join(root, name)
            with open(path, 'rb') as f:
                hashes[osp.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
    return hashes


def _load(path):
    return torch.load(path, map_location='cpu', weights_only=False)


def _assert_same_training_state(path_a, path_b):
    """Weights, buffers and optimizer states of two checkpoints are bitwise equal."""
    a, b = _load(path_a), _load(path_b)
    assert a['state_dict'].keys() == b['state_dict'].keys()
    unequal = [k for k in a['state_dict'] if not torch.equal(a['state_dict'][k],
                                                            b['state_dict'][k])]
    assert not unequal, f'{len(unequal)} tensors differ, e.g. {unequal[:3]}'

    def tensors(node, prefix=''):
        if torch.is_tensor(node):
            yield prefix, node
        elif isinstance(node, dict):
            for key, value in node.items():
                yield from tensors(value, f'{prefix}.{key}')
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                yield from tensors(value, f'{prefix}[{i}]')

    opt_a, opt_b = dict(tensors(a['optimizer'])), dict(tensors(b['optimizer']))
    assert opt_a.keys() == opt_b.keys() and opt_a
    assert all(torch.equal(opt_a[k], opt_b[k]) for k in opt_a)


def _train(tool_runner, config, work_dir, opts, *extra, check=True, env=None):
    return tool_runner(['tools/train.py', config, '--work-dir', str(work_dir), *extra,
                        '--cfg-options', *opts], check=check, env=env)


def _output(proc):
    return proc.stdout + proc.stderr


def _killed_while_writing(name_part):
    """Environment that makes the tool kill itself (SIGKILL) while writing such a file."""
    return {'PYTHONPATH': os.pathsep.join([FAULTS, os.environ.get('PYTHONPATH', '')]),
            'MMSELFKD_TEST_KILL_WRITING': name_part}


@pytest.fixture(scope='module')
def baseline_run(tmp_path_factory, tiny_cifar100):
    """A finished 2-epoch baseline run (kept read-only: tests copy it)."""
    from conftest import run_tool, tiny_cifar_options
    work_dir = tmp_path_factory.mktemp('baseline') / 'run'
    opts = tiny_cifar_options(tiny_cifar100, batch_size=8, max_epochs=2)
    _train(run_tool, BASELINE, work_dir, opts)
    return work_dir


# ------------------------------------------------------------------ resume is bit-exact

SMALL_HSSAKD = ['model.student.backbone.depth=8', 'model.peer.backbone.depth=8']
SMALL_WRN_STUDENT = ['model.student.backbone.depth=10', 'model.student.backbone.widen_factor=1',
                     'model.student.head.in_channels=64']
SMALL_WRN_TEACHER = [o.replace('model.student.', 'model.teacher.') for o in SMALL_WRN_STUDENT]
EXACT_CASES = {
    'frskd': (FRSKD, []),
    # the training workers' augmentations must follow the restored state too
    'mixskd': ('configs/mixskd/resnet18_cifar100.py', ['train_dataloader.num_workers=1']),
    'hssakd_online': ('configs/hssakd/resnet56_cifar100_online.py', SMALL_HSSAKD),
    'hssakd_offline': ('configs/hssakd/wrn40-2_to_wrn16-2_cifar100_student.py',
                       SMALL_WRN_STUDENT + SMALL_WRN_TEACHER),
    'ffsd': ('configs/ffsd/resnet32_cifar100.py', []),
}


def _teacher_checkpoint(path):
    """A checkpoint of the small WRN teacher (its teacher config, random weights)."""
    from mmengine.registry import MODELS

    from mmselfkd import register_all_modules
    register_all_modules(host='mmpretrain')
    cfg = Config.fromfile('configs/hssakd/wrn40-2_cifar100_teacher.py')
    cfg.model.student.backbone.depth = 10
    cfg.model.student.backbone.widen_factor = 1
    cfg.model.student.head.in_channels = 64
    cfg.model.data_preprocessor = cfg.data_preprocessor
    torch.manual_seed(0)
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict()}, path)
    return path


@pytest.mark.parametrize('case', list(EXACT_CASES))
def test_resume_equals_the_uninterrupted_run(case, tmp_path, tiny_cifar100, cifar_options,
                                             tool_runner, monkeypatch):
    """Two epochs in one go, and epoch 2 resumed in another work dir from epoch 1's
    checkpoint, end with bitwise equal weights and optimizer states (random augmentation,
    mixup, rotations, every optimizer); the first run's files are untouched."""
    monkeypatch.chdir(REPO)
    config, extra = EXACT_CASES[case]
    opts = cifar_options(tiny_cifar100, batch_size=8, max_epochs=2) + extra
    if case == 'hssakd_offline':
        opts.append(f'model.teacher_checkpoint={_teacher_checkpoint(tmp_path / "t.pth")}')
    whole, resumed = tmp_path / 'whole', tmp_path / 'resumed'
    _train(tool_runner, config, whole, opts)
    before = _file_hashes(whole)
    proc = _train(tool_runner, config, resumed, opts, '--resume', str(whole / 'epoch_1.pth'))
    assert 'resumed epoch: 1' in _output(proc)
    _assert_same_training_state(whole / 'epoch_2.pth', resumed / 'epoch_2.pth')
    assert _file_hashes(whole) == before  # nothing outside the resumed run's work dir
    assert osp.isfile(resumed / 'epoch_2_deploy.pth')
    assert not glob.glob(str(resumed / 'epoch_1*'))  # the export follows its checkpoint


# ------------------------------------------------------------------ exports and work dirs

def test_resume_never_rewrites_exports_or_touches_other_work_dirs(baseline_run, tmp_path,
                                                                  tiny_cifar100, cifar_options,
                                                                  tool_runner):
    opts = cifar_options(tiny_cifar100, batch_size=8, max_epochs=3)
    original = _file_hashes(baseline_run)

    # a copy of a work dir, resumed with --resume alone: its last_checkpoint names the
    # original's absolute path; the copy must be used and the original left alone
    copy = tmp_path / 'copy'
    shutil.copytree(baseline_run, copy)
    proc = _train(tool_runner, BASELINE, copy, opts, '--resume')
    assert f'{copy}/epoch_2.pth' in _output(proc)
    assert _file_hashes(baseline_run) == original

    # in place: the exports of epochs 1 and 2 were written once and stay as they are;
    # epoch_1 rotates out (max_keep_ckpts=2) and its export with it
    after = _file_hashes(copy)
    for name in ('epoch_2.pth', 'epoch_2_deploy.pth'):
        assert after[name] == original[name]
    assert 'epoch_1.pth' not in after and 'epoch_1_deploy.pth' not in after
    exported = torch.load(copy / 'epoch_3_deploy.pth', weights_only=True)
    assert exported['meta']['source_checkpoint'] == 'epoch_3.pth'
    assert exported['meta']['epoch'] == 3


def test_kill_while_writing_export_then_resume(tmp_path, tiny_cifar100, cifar_options,
                                               tool_runner):
    """kill -9 while the last epoch's export is written: no file appears under the final
    name; --resume then writes the export and validates the last epoch."""
    opts = cifar_options(tiny_cifar100, batch_size=8, max_epochs=2)
    work_dir = tmp_path / 'run'
    proc = _train(tool_runner, BASELINE, work_dir, opts, check=False,
                  env=_killed_while_writing('epoch_2_deploy.pth'))
    assert proc.returncode == -9
    assert osp.isfile(work_dir / 'epoch_2.pth')
    assert not osp.exists(work_dir / 'epoch_2_deploy.pth')  # not a truncated file
    assert glob.glob(str(work_dir / '.epoch_2_deploy.pth.*.tmp'))

    proc = _train(tool_runner, BASELINE, work_dir, opts, '--resume')
    log = _output(proc)
    assert 'validating the resumed epoch 2' in log and 'Epoch(val) [2]' in log
    assert torch.load(work_dir / 'epoch_2_deploy.pth', weights_only=True)['state_dict']
    assert not glob.glob(str(work_dir / '.*.tmp'))


def test_truncated_latest_checkpoint_falls_back(baseline_run, tmp_path, tiny_cifar100,
                                                cifar_options, tool_runner):
    """A truncated epoch_2.pth: --resume warns, naming it, resumes epoch 1's checkpoint and
    trains epoch 2 again, to exactly the weights of the uninterrupted run."""
    work_dir = tmp_path / 'run'
    shutil.copytree(baseline_run, work_dir)
    with open(work_dir / 'epoch_2.pth', 'r+b') as f:
        f.truncate(os.path.getsize(work_dir / 'epoch_2.pth') // 3)
    opts = cifar_options(tiny_cifar100, batch_size=8, max_epochs=2)
    proc = _train(tool_runner, BASELINE, work_dir, opts, '--resume')
    log = _output(proc)
    assert f'--resume skips {work_dir}/epoch_2.pth: cannot be loaded' in log
    assert 'resumed epoch: 1' in log
    _assert_same_training_state(baseline_run / 'epoch_2.pth', work_dir / 'epoch_2.pth')


def test_kill_while_saving_a_checkpoint_then_resume(tmp_path, tiny_cifar100, cifar_options,
                                                    tool_runner):
    opts = cifar_options(tiny_cifar100, batch_size=8, max_epochs=2)
    work_dir = tmp_path / 'run'
    proc = _train(tool_runner, BASELINE, work_dir, opts, check=False,
                  env=_killed_while_writing('/.epoch_2.pth'))
    assert proc.returncode == -9
    assert not osp.exists(work_dir / 'epoch_2.pth')
    proc = _train(tool_runner, BASELINE, work_dir, opts, '--resume')
    assert 'resumed epoch: 1' in _output(proc)
    assert _load(work_dir / 'epoch_2.pth')['meta']['epoch'] == 2


# ------------------------------------------------------------------ evaluation

def test_test_tool_takes_exports_and_training_checkpoints_or_refuses(tmp_path, tiny_cifar100,
                                                                      cifar_options,
                                                                      tool_runner):
    opts = cifar_options(tiny_cifar100, batch_size=8, max_epochs=1)
    work_dir = tmp_path / 'frskd'
    _train(tool_runner, FRSKD, work_dir, opts)

    def top1(config, checkpoint, check=True):
        proc = tool_runner(['tools/test.py', config, str(checkpoint), '--work-dir',
                            str(tmp_path / 'test'), '--cfg-options', *opts], check=check)
        lines = [line for line in _output(proc).splitlines() if 'accuracy/top1' in line]
        return proc, lines

    proc, reference = top1(FRSKD, work_dir / 'epoch_1.pth')
    assert reference
    # the method config with the export: loaded into the student, same accuracy
    proc, lines = top1(FRSKD, work_dir / 'epoch_1_deploy.pth')
    assert 'holds the deployable network only: loaded it into model.student' in _output(proc)
    assert lines[-1].split('accuracy/top1:')[1].split()[0] == \
        reference[-1].split('accuracy/top1:')[1].split()[0]
    # the baseline config with the training checkpoint: the student is extracted
    proc, lines = top1(BASELINE, work_dir / 'epoch_1.pth')
    assert "mmselfkd.FRSKD training checkpoint: evaluating its deployable network (the keys " \
        "under 'student.')" in _output(proc)
    assert lines[-1].split('accuracy/top1:')[1].split()[0] == \
        reference[-1].split('accuracy/top1:')[1].split()[0]
    # a checkpoint of another network: an error, nothing evaluated
    proc, lines = top1('configs/baseline/resnet32_cifar100_ffsd.py', work_dir / 'epoch_1.pth',
                       check=False)
    assert proc.returncode == 1 and not lines
    assert 'does not fit the model of this config' in proc.stderr
    assert 'missing keys' in proc.stderr and 'Traceback' not in proc.stderr


def test_export_check_failure_writes_nothing(baseline_run, tmp_path, tool_runner):
    out = tmp_path / 'plain.pth'
    proc = tool_runner(['tools/export.py', str(baseline_run / 'epoch_2.pth'), str(out),
                        '--check', 'configs/baseline/wrn16-2_cifar100_hssakd.py'], check=False)
    assert proc.returncode == 1 and 'FAILED' in proc.stdout
    assert 'not written' in proc.stderr and not osp.exists(out)
    assert not os.listdir(tmp_path)  # no temporary file either
    proc = tool_runner(['tools/export.py', str(baseline_run / 'epoch_2.pth'),
                        str(baseline_run / 'epoch_2.pth')], check=False)
    assert proc.returncode == 1 and 'OUT is the checkpoint itself' in proc.stderr


# ------------------------------------------------------------------ divergence

@pytest.mark.parametrize('config,lr_options', [
    ('configs/hssakd/resnet56_cifar100_online.py', ['optim_wrapper.optimizer.lr=1e6']),
    ('configs/ffsd/resnet32_cifar100.py',
     [f'optim_wrapper.{name}.optimizer.lr=1e6'
      for name in ('students', 'fusion', 'leader', 'self_distillers')]),
])
def test_nonfinite_loss_stops_training(config, lr_options, tmp_path, tiny_cifar100,
                                       cifar_options, tool_runner):
    opts = cifar_options(tiny_cifar100, batch_size=8, max_epochs=2) + lr_options
    if 'hssakd' in config:
        opts += SMALL_HSSAKD
    work_dir = tmp_path / 'run'
    proc = _train(tool_runner, config, work_dir, opts, check=False)
    assert proc.returncode == 1
    assert 'error: non-finite loss at iteration' in proc.stderr and 'loss' in proc.stderr
    assert 'Traceback' not in proc.stderr
    for path in glob.glob(str(work_dir / '*.pth')):
        state = torch.load(path, map_location='cpu', weights_only=False)['state_dict']
        assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


# ------------------------------------------------------------------ refused before training

def test_resume_with_a_changed_schedule(baseline_run, tmp_path, tiny_cifar100, cifar_options,
                                        tool_runner):
    """MMEngine restores the checkpoint's schedule over the config's. A schedule that only
    extends the run (max_epochs, hence the schedulers' end) is applied; one that changes
    the learning rate at the resumed epoch stops the run, unless resume_schedule says
    which schedule to follow."""
    opts = cifar_options(tiny_cifar100, batch_size=8, max_epochs=3)

    def resume(name, *options, check=True):
        work_dir = tmp_path / name
        shutil.copytree(baseline_run, work_dir)
        proc = _train(tool_runner, BASELINE, work_dir, opts + list(options), '--resume',
                      check=check)
        return work_dir, proc

    def lr_of_epoch_3(proc):
        return [line.split(' lr: ')[1].split()[0] for line in _output(proc).splitlines()
                if 'Epoch(train) [3]' in line and ' lr: ' in line][0]

    work_dir, proc = resume('longer')  # max_epochs 2 -> 3: the schedulers' end moves
    assert 'param_scheduler[0].end: checkpoint 2, config 3' in _output(proc)
    assert 'which continues what the run used so far' in _output(proc)
    assert lr_of_epoch_3(proc) == '1.0000e-01'

    work_dir, proc = resume('moved', 'param_scheduler.milestones=[2]', check=False)
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert 'param_scheduler[0].milestones: checkpoint [100, 150], config [2]' in proc.stderr
    assert 'optimizer param_groups.0.lr: checkpoint 0.1, config 0.01' in proc.stderr
    assert not osp.exists(work_dir / 'epoch_3.pth')

    _, proc = resume('config', 'param_scheduler.milestones=[2]', 'resume_schedule=config')
    assert lr_of_epoch_3(proc) == '1.0000e-02'
    _, proc = resume('checkpoint', 'param_scheduler.milestones=[2]',
                     'resume_schedule=checkpoint')
    assert 'continues with the schedule of' in _output(proc)
    assert lr_of_epoch_3(proc) == '1.0000e-01'


def test_bad_setups_fail_before_training(baseline_run, tmp_path, tiny_cifar100, cifar_options,
                                         tool_runner):
    opts = cifar_options(tiny_cifar100, batch_size=8, max_epochs=3)
    cases = [
        # another method's checkpoint
        (FRSKD, ['--resume', str(baseline_run / 'epoch_2.pth')], opts,
         'the checkpoint does not hold the model of this config (checkpoint: ImageClassifier, '
         'config: mmselfkd.FRSKD)'),
        # labels of the data outside the head's classes
        (BASELINE, [], opts + ['model.head.num_classes=10'],
         "train_dataloader.dataset: 22 labels lie outside [0, 10) (the head's num_classes)"),
        # MixSKD mixes pairs of images within a batch
        ('configs/mixskd/resnet18_cifar100.py', [], opts + ['train_dataloader.batch_size=1'],
         'train_dataloader.batch_size=1: MixSKD needs at least 2 images per process'),
        # a --resume path that does not load
        (BASELINE, ['--resume', str(baseline_run / 'missing.pth')], opts,
         f'--resume {baseline_run}/missing.pth: no such file'),
    ]
    for config, extra, options, message in cases:
        work_dir = tmp_path / 'run'
        proc = _train(tool_runner, config, work_dir, options, *extra, check=False)
        assert proc.returncode == 1, message
        assert message in proc.stderr and 'Traceback' not in proc.stderr
        assert not glob.glob(str(work_dir / '*.pth'))


def test_two_process_resume_equals_the_uninterrupted_run(tmp_path, tiny_cifar100,
                                                         cifar_options, tool_runner):
    """With 2 processes (gloo), each process gets back its own random state."""
    opts = cifar_options(tiny_cifar100, batch_size=4, max_epochs=2)
    whole, resumed = tmp_path / 'whole', tmp_path / 'resumed'
    tool_runner(['tools/dist_train.sh', BASELINE, '2', '--work-dir', str(whole),
                 '--cfg-options', *opts], env={'PORT': '29521'})
    assert len(_load(whole / 'epoch_1.pth')['random_states']) == 2
    proc = tool_runner(['tools/dist_train.sh', BASELINE, '2', '--work-dir', str(resumed),
                        '--resume', str(whole / 'epoch_1.pth'), '--cfg-options', *opts],
                       env={'PORT': '29522'})
    assert 'resumed epoch: 1' in _output(proc)
    _assert_same_training_state(whole / 'epoch_2.pth', resumed / 'epoch_2.pth')
