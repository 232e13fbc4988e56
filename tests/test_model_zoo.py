"""OpenMMLab model-zoo conventions: metafiles that match the configs and READMEs, a wheel that
ships configs and tools under ``mmselfkd/.mim``, and ``mmselfkd::`` config bases."""
import glob
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import pytest
import yaml
from mmengine.config import Config

import mmselfkd  # noqa: F401  (mmselfkd:: config bases)
from mmselfkd.utils.package_configs import MissingDependencyError, check_dense_dependencies

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
METHODS = ('frskd', 'mixskd', 'hssakd', 'ffsd')
# FFSD's ImageNet recipe (90 epochs) matches none of the baseline configs
WITHOUT_BASELINE = {'configs/ffsd/resnet18_imagenet.py', 'configs/ffsd/resnet34_imagenet.py'}


def metafile_models():
    with open(osp.join(REPO, 'model-index.yml')) as f:
        imports = yaml.safe_load(f)['Import']
    models = []
    for path in imports:
        with open(osp.join(REPO, path)) as f:
            models += [(path, m) for m in yaml.safe_load(f)['Models']]
    return models


def test_every_config_is_in_one_metafile_entry_and_every_entry_exists():
    configs = sorted(osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, 'configs', '*', '*.py'))
                     if '/_base_/' not in p)
    listed = [m['Config'] for _, m in metafile_models()]
    assert sorted(listed) == configs  # each config once, nothing else
    names = [m['Name'] for _, m in metafile_models()]
    assert len(names) == len(set(names))
    for path, model in metafile_models():
        folder = osp.dirname(path)
        assert osp.dirname(model['Config']) == folder, model['Name']  # in its folder's metafile
        assert 'Weights' in model and model['Weights'] is None  # no released weights yet
        result = model['Results'][0]
        assert result['Task'] and result['Dataset'] and len(result['Metrics']) == 1
        if osp.basename(folder) in METHODS and model['Config'] not in WITHOUT_BASELINE:
            assert osp.isfile(osp.join(REPO, model['Baseline'])), model['Name']
            assert model['Baseline'].startswith('configs/baseline/')
        else:
            assert 'Baseline' not in model, model['Name']


def test_metafiles_load_with_model_index_and_collections_are_complete():
    from modelindex import load
    index = load(osp.join(REPO, 'model-index.yml'))
    assert len(index.models) == len(metafile_models())
    errors = [e for item in index.collect_check_errors() for e in item['errors']
              # OpenMMLab metafiles give README paths from the repository root (mmengine and
              # mim read them that way); model-index resolves them from the metafile
              if not e.startswith('Path to README file')]
    assert errors == []
    for method in METHODS:
        with open(osp.join(REPO, 'configs', method, 'metafile.yml')) as f:
            collection = yaml.safe_load(f)['Collections'][0]
        assert collection['Paper']['URL'].startswith('https://arxiv.org/abs/')
        assert collection['Code']['URL'].startswith('https://github.com/')
        assert osp.isfile(osp.join(REPO, collection['README']))


@pytest.mark.parametrize('method', METHODS)
def test_metafile_schedules_and_paper_numbers_match_configs_and_readme(method):
    """Epochs/iterations and batch size come from the config; each paper number is in the
    method README (a typo in either shows up here)."""
    with open(osp.join(REPO, 'configs', method, 'metafile.yml')) as f:
        models = yaml.safe_load(f)['Models']
    with open(osp.join(REPO, 'configs', method, 'README.md')) as f:
        readme = f.read()
    for model in models:
        cfg = Config.fromfile(osp.join(REPO, model['Config']))
        meta = model['Metadata']
        if 'Epochs' in meta:
            assert cfg.train_cfg.max_epochs == meta['Epochs'], model['Name']
        else:
            assert cfg.train_cfg.max_iters == meta['Iterations'], model['Name']
        gpus = int(re.match(r'(\d+)x GPUs', meta['Training Resources']).group(1))
        assert gpus * cfg.train_dataloader.batch_size == meta['Batch Size'], model['Name']
        value = next(iter(model['Results'][0]['Metrics'].values()))
        if value is not None:
            assert f'{value:.2f}' in readme, (model['Name'], value)
            assert model['Results'][0]['Source']


def test_mmselfkd_base_resolves_in_the_source_tree_under_the_host_scope(tmp_path):
    user = tmp_path / 'my_frskd.py'
    user.write_text("_base_ = 'mmselfkd::frskd/resnet18_cifar100.py'\nmodel = dict(alpha=1.0)\n")
    cfg = Config.fromfile(str(user))
    assert cfg.model.type == 'mmselfkd.FRSKD' and cfg.model.alpha == 1.0
    assert cfg.model.beta == 100.0 and cfg.default_scope == 'mmpretrain'
    # MMEngine would tag inherited dicts with `_scope_='mmselfkd'`, where ImageClassifier,
    # Accuracy or LoggerHook are unknown
    assert '_scope_' not in cfg.model and '_scope_' not in cfg.val_evaluator
    assert '_scope_' not in cfg.train_dataloader.dataset
    from mmengine.registry import MODELS
    from mmselfkd import register_all_modules
    register_all_modules(host='mmpretrain')
    assert type(MODELS.build(cfg.model)).__name__ == 'FRSKD'
    with pytest.raises(FileNotFoundError, match='no config frskd/nothing.py'):
        user.write_text("_base_ = 'mmselfkd::frskd/nothing.py'\n")
        Config.fromfile(str(user))


@pytest.mark.slow
def test_classification_runs_without_compiled_ops_and_dense_configs_say_what_to_install(
        tmp_path, tiny_cifar100, cifar_options, tool_runner):
    """What the classification-only install gives: mmcv's Python code without its compiled
    ops (as mmcv-lite). Here: the installed mmcv copied without ``mmcv/_ext*.so``, first on
    PYTHONPATH."""
    import mmcv
    lite = tmp_path / 'lite'
    shutil.copytree(osp.dirname(mmcv.__file__), lite / 'mmcv',
                    ignore=shutil.ignore_patterns('_ext*', '__pycache__'))
    env = {'PYTHONPATH': os.pathsep.join([str(lite), REPO])}
    probe = tool_runner(['-c', 'import importlib.util as u, mmcv; '
                         "print(mmcv.__file__, u.find_spec('mmcv._ext'))"], env=env)
    assert probe.stdout.split() == [str(lite / 'mmcv' / '__init__.py'), 'None']

    proc = tool_runner(['tools/train.py', 'configs/frskd/deeplabv3_r18-d8_4xb4-20k_voc12aug-512x512.py',
                        '--work-dir', str(tmp_path / 'seg')], env=env, check=False, timeout=300)
    assert proc.returncode != 0
    assert "is a segmentation config (it inherits mmseg::deeplabv3/" in proc.stderr
    assert "needs mmcv's compiled ops" in proc.stderr and 'bash tools/install.sh' in proc.stderr
    assert not osp.exists(tmp_path / 'seg')  # stopped before anything was written

    work_dir = str(tmp_path / 'cls')
    tool_runner(['tools/train.py', 'configs/frskd/resnet18_cifar100.py', '--work-dir', work_dir,
                 '--cfg-options', *cifar_options(tiny_cifar100, batch_size=8, max_epochs=1)],
                env=env)
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))


def test_dense_check_passes_where_the_stack_is_complete():
    check_dense_dependencies('mmpretrain::_base_/default_runtime.py', 'cls.py')  # not dense
    check_dense_dependencies('mmseg::deeplabv3/x.py', 'seg.py')  # ops and mmseg installed
    check_dense_dependencies('mmdet::retinanet/x.py', 'det.py')
    assert issubclass(MissingDependencyError, ImportError)


@pytest.mark.slow
def test_wheel_ships_configs_and_tools_and_mmselfkd_bases_resolve_in_a_fresh_venv(
        tmp_path, tiny_cifar100, cifar_options):
    """``pip install .`` (not editable) into a new venv: ``mmselfkd::`` resolves to the copy
    inside the installed package, and the packaged tools/train.py trains the packaged config,
    which is what ``mim train mmselfkd CONFIG`` runs."""
    source = tmp_path / 'src'
    # a copy, since pip builds in the source tree (build/, *.egg-info)
    for name in ('mmselfkd', 'configs', 'tools', 'requirements'):
        shutil.copytree(osp.join(REPO, name), source / name,
                        ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    for name in ('setup.py', 'README.md', 'model-index.yml', 'MANIFEST.in'):
        shutil.copy(osp.join(REPO, name), source / name)
    venv = tmp_path / 'venv'
    # the venv sees the test environment's OpenMMLab stack, pip and setuptools (so nothing
    # is downloaded); its own site-packages, where mmselfkd goes, comes first on sys.path,
    # before an editable install's finder
    subprocess.run([sys.executable, '-m', 'venv', '--system-site-packages', '--without-pip',
                    str(venv)], check=True)
    python = str(venv / 'bin' / 'python')
    proc = subprocess.run([python, '-m', 'pip', 'install', '--no-deps', '--no-build-isolation',
                           '--quiet', '--disable-pip-version-check', str(source)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    user = tmp_path / 'elsewhere' / 'my_frskd.py'
    user.parent.mkdir()
    user.write_text("_base_ = 'mmselfkd::frskd/resnet18_cifar100.py'\nmodel = dict(alpha=1.0)\n")
    script = (
        'import os, mmselfkd\n'
        'from mmengine.config import Config\n'
        'from mmselfkd.utils.package_configs import config_root\n'
        f'cfg = Config.fromfile({str(user)!r})\n'
        'pkg = os.path.dirname(mmselfkd.__file__)\n'
        "print(pkg, config_root(), cfg.model.alpha, cfg.model.beta, cfg.default_scope)\n")
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    proc = subprocess.run([python, '-c', script], capture_output=True, text=True, env=env,
                          cwd=str(tmp_path), timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    package, root, alpha, beta, scope = proc.stdout.split()[-5:]
    assert package.startswith(str(venv)) and root == osp.join(package, '.mim', 'configs')
    assert (alpha, beta, scope) == ('1.0', '100.0', 'mmpretrain')
    for shipped in ('model-index.yml', 'configs/frskd/metafile.yml', 'tools/train.py',
                    'tools/dist_train.sh', 'tools/reproduce.py'):
        assert osp.isfile(osp.join(package, '.mim', shipped)), shipped
    # mim train mmselfkd CONFIG runs
    # `python <package>/.mim/tools/train.py <config> --device cpu --launcher none`
    work_dir = tmp_path / 'work'
    proc = subprocess.run(
        [python, osp.join(package, '.mim', 'tools', 'train.py'),
         osp.join(root, 'baseline', 'resnet18_cifar100.py'), '--device', 'cpu',
         '--launcher', 'none',
         '--work-dir', str(work_dir), '--cfg-options',
         *cifar_options(tiny_cifar100, batch_size=8, max_epochs=1)],
        capture_output=True, text=True, env=dict(env, OMP_NUM_THREADS='1'),
        cwd=str(tmp_path), timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert osp.isfile(work_dir / 'epoch_1.pth')
