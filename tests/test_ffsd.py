"""FFSD: golden values and gradient routing of the official losses (SJLeo/FFSD at d5cfda9,
``CIFARTrainer.py``), parameter counts of the official modules, the multi-optimizer train step
and update order, export, and the shipped configs end to end
(single process with resume, and 2 processes on gloo with identical parameters)."""
import argparse
import copy
import glob
import os
import os.path as osp

import pytest
import torch

from conftest import (CONFIG_DIR, REPO_ROOT, assert_equal_predictions, millions,  # noqa: E402
                      rel_error, sine_tensor)

FFSD_CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, 'ffsd', '*.py')))
BASELINE_CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, 'baseline', '*_ffsd.py')))
WRAPPER_KEYS = ['students', 'fusion', 'leader', 'self_distillers']


# -------------------------------------------------- goldens (official formulas, float64)

def test_goldens_of_the_official_formulas():
    from mmselfkd.engine.hooks import warmup_factor
    from mmselfkd.models.losses import (attention_map, attention_shifted_feature,
                                        diversity_loss, kl_divergence, normalized_distance)
    fa = sine_tensor((3, 4, 4, 4), 0.2, 1, 0.37)
    fb = sine_tensor((3, 4, 4, 4), 0.9, 1, 0.11)
    assert rel_error(normalized_distance(attention_map(fa), attention_map(fb)), 0.0133606234) < 1e-6
    assert rel_error(normalized_distance(fa, fb), 0.0308495784) < 1e-6
    assert rel_error(diversity_loss(attention_map(fa), attention_map(fb)), 1.7196414525) < 1e-6
    shifted = attention_shifted_feature(fb)
    assert shifted.shape == fb.shape
    assert rel_error(shifted.sum(), 124.9826399821) < 1e-6
    expected_row = [0.78332691, 0.84683184, 0.90010044, 0.9424888]
    for value, expected in zip(shifted[0, 0, 0].tolist(), expected_row):
        assert rel_error(value, expected) < 1e-6
    kl = kl_divergence(sine_tensor((3, 10), 0, 2), sine_tensor((3, 10), 1.3, 2), temperature=2.0)
    assert rel_error(kl, 0.6250542128) < 1e-6
    factors = [warmup_factor(e, 5) for e in range(1, 8)]
    for value, expected in zip(factors, [0.040762, 0.165299, 0.449329, 0.818731, 1.0, 1.0, 1.0]):
        assert abs(value - expected) < 5e-7


def test_diversity_target_mirrors_attention_above_the_threshold():
    from mmselfkd.models.losses import attention_map, attention_shifted_feature
    from mmselfkd.models.losses.ffsd_losses import _shifted_attention
    feature = sine_tensor((2, 3, 3, 3), 0.4, 1.0, 0.7)
    shifted, normalized, norm = _shifted_attention(attention_map(feature))
    threshold = normalized.kthvalue(3, dim=1, keepdim=True).values
    low, high = normalized < threshold, normalized > threshold
    assert torch.allclose(shifted[low], normalized[low])
    assert torch.allclose(shifted[high], (norm - normalized)[high])
    # sign(0) = 0: the threshold position itself goes to n / 2, as in the official code
    at = normalized == threshold
    assert torch.allclose(shifted[at], (norm / 2).expand_as(normalized)[at])
    # Shift(F) changes every channel by the same per-position offset
    offset = attention_shifted_feature(feature) - feature
    assert torch.allclose(offset, offset[:, :1].expand_as(offset), atol=1e-6)


# ---------------------------------------------------------------- model helpers

def small_architecture(depth=8):
    return dict(
        type='ImageClassifier',
        backbone=dict(type='mmselfkd.CIFARResNet', depth=depth, out_indices=(0, 1, 2)),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=100, in_channels=64, init_cfg=None))


def build_ffsd(architecture=None, **kwargs):
    from mmengine.registry import MODELS
    cfg = dict(type='mmselfkd.FFSD', architecture=architecture or small_architecture(),
               data_preprocessor=dict(num_classes=100, mean=[128.] * 3, std=[64.] * 3))
    cfg.update(kwargs)
    torch.manual_seed(0)
    return MODELS.build(cfg)


def batch(num=4, size=16, seed=0):
    from mmpretrain.structures import DataSample
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(num, 3, size, size, generator=generator)
    labels = [3, 17, 42, 99, 5, 8, 60, 71][:num]
    samples = [DataSample().set_gt_label(label) for label in labels]
    return inputs, samples


def ffsd_optim_wrapper(model, sd_lr=1e-3):
    from mmengine.optim import build_optim_wrapper
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'ffsd', 'resnet32_cifar100.py'))
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    optim_cfg['self_distillers']['optimizer']['lr'] = sd_lr
    return build_optim_wrapper(model, optim_cfg)


# ------------------------------------------------------- architecture, shapes, counts

@pytest.mark.parametrize('config, student, trans_fusion, fusion, psi', [
    ('resnet32_cifar100.py', 0.473, 0.009, 0.016, 0.023),
    ('wrn16-2_cifar100.py', 0.704, 0.035, 0.049, 0.092),
    # counted with the official densenet_40 / googlenet, FusionModule, TransFusionModule and
    # DIYSelfDistillationModel([456, 312, 168]) / ([1024, 832, 480])
    pytest.param('densenet40_cifar100.py', 1.100, 0.423, 0.473, 1.753, marks=pytest.mark.slow),
    pytest.param('googlenet_cifar100.py', 6.258, 2.113, 2.224, 11.265,  # 6,258,500
                 marks=pytest.mark.slow),
])
def test_official_parameter_counts(mmpretrain_scope, config, student, trans_fusion, fusion, psi):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'ffsd', config))
    model = build_ffsd(cfg.model.architecture)
    assert [millions(s) for s in model.students] == [student, student]
    assert millions(model.leader) == student
    assert millions(model.trans_fusion) == trans_fusion
    assert millions(model.fusion) == fusion
    assert [millions(p) for p in model.self_distillers] == [psi, psi]


def test_resnet32_leader_with_trans_fusion_and_module_shapes(mmpretrain_scope):
    from mmselfkd.models.utils import forward_with_backbone_outputs
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'ffsd', 'resnet32_cifar100.py'))
    model = build_ffsd(cfg.model.architecture)
    # the official leader: 0.482 M including its trans-fusion module
    assert round((sum(p.numel() for p in model.leader.parameters())
                  + sum(p.numel() for p in model.trans_fusion.parameters())) / 1e6, 3) == 0.482
    model.eval()
    with torch.no_grad():
        features, logits = forward_with_backbone_outputs(model.leader, torch.zeros(2, 3, 32, 32))
        assert [tuple(f.shape[1:]) for f in features] == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]
        assert tuple(logits.shape) == (2, 100)
        fused, fusion_logits = model.fusion(torch.cat([features[-1]] * 2, dim=1))
        assert tuple(fused.shape) == (2, 64, 8, 8) and tuple(fusion_logits.shape) == (2, 100)
        assert tuple(model.trans_fusion(features[-1]).shape) == (2, 128, 8, 8)
        outputs = model.self_distillers[0](features[-1])
        assert [tuple(o.shape[1:]) for o in outputs] == [(16, 32, 32), (32, 16, 16)]


def test_architecture_from_a_config_file_is_read_once(mmpretrain_scope, monkeypatch):
    """``architecture=dict(cfg_path=...)`` (the baseline twin's classifier, changed to depth 8)
    builds the same networks as the inline config, reading the file once for all of them."""
    from mmengine.config import Config
    reads = []
    fromfile = Config.fromfile
    monkeypatch.setattr(Config, 'fromfile',
                        lambda *a, **k: reads.append(a[0]) or fromfile(*a, **k))
    path = osp.join(CONFIG_DIR, 'baseline', 'resnet32_cifar100_ffsd.py')
    model = build_ffsd(dict(cfg_path=path, backbone=dict(depth=8, out_indices=(0, 1, 2))))
    assert reads == [path]
    inline = build_ffsd(small_architecture())
    for a, b in [(model.leader, inline.leader), *zip(model.students, inline.students)]:
        assert {k: v.shape for k, v in a.state_dict().items()} == \
            {k: v.shape for k, v in b.state_dict().items()}


def test_self_distiller_maps_to_the_shallower_stage_channels(mmpretrain_scope):
    """Psi follows the stage channels (the official DIYSelfDistillationModel of DenseNet-40):
    its outputs must match the shapes of the stages they are distilled into."""
    from mmselfkd.models.aux_branches import FFSDSelfDistiller
    model = build_ffsd(dict(
        type='ImageClassifier',
        backbone=dict(type='mmselfkd.CIFARDenseNet', depth=13, out_indices=(0, 1, 2)),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=100, in_channels=132)))
    features = model.students[0].backbone(torch.zeros(2, 3, 32, 32))
    outputs = model.self_distillers[0](features[-1])
    assert [o.shape for o in outputs] == [f.shape for f in features[:-1]]  # 60/96 channels
    assert [o.shape[1] for o in FFSDSelfDistiller(64, 2)(torch.zeros(1, 64, 8, 8))] == [16, 32]
    with pytest.raises(ValueError, match='out_channels needs num_layers=2'):
        FFSDSelfDistiller(456, 2, out_channels=[312])
    # a tuple in a config is the same request as the derived list
    model = build_ffsd(small_architecture(), self_distiller=dict(
        type='mmselfkd.FFSDSelfDistiller', out_channels=(32, 16)))
    assert [layer[0].out_channels for layer in model.self_distillers[0].layers] == [32, 16]
    with pytest.raises(ValueError, match='model.self_distiller.out_channels'):
        build_ffsd(small_architecture(), self_distiller=dict(type='mmselfkd.FFSDSelfDistiller',
                                                             out_channels=[8, 4]))


def test_bad_config_is_reported_at_build_time(mmpretrain_scope):
    with pytest.raises(ValueError, match='num_students'):
        build_ffsd(num_students=1)
    with pytest.raises(ValueError, match='val_heads'):
        build_ffsd(val_heads=('student3', ))
    with pytest.raises(ValueError, match='model.fusion.in_channels'):
        build_ffsd(fusion=dict(type='FFSDFusionModule', in_channels=32))
    one_stage = small_architecture()
    one_stage['backbone']['out_indices'] = (2, )
    with pytest.raises(ValueError, match='out_indices'):
        build_ffsd(one_stage)


@pytest.mark.parametrize('weight', ['lambda_div', 'lambda_fusion', 'lambda_sd'])
def test_negative_or_nan_loss_weights_are_config_errors(mmpretrain_scope, weight):
    from mmselfkd.utils.errors import ConfigError
    for value in (-1e-5, float('nan')):
        with pytest.raises(ConfigError, match=f'model.{weight} must be a loss weight >= 0'):
            build_ffsd(**{weight: value})
    build_ffsd(**{weight: 0.0})  # zero switches the term off


# ------------------------------------------------------------------- gradient routing

def grads(module):
    return {n: None if p.grad is None else p.grad.clone() for n, p in module.named_parameters()}


def test_fusion_and_leader_terms_do_not_reach_the_students(mmpretrain_scope):
    model = build_ffsd()
    inputs, samples = batch()
    losses = model.loss(inputs, samples)
    assert set(losses) == {
        'student1.loss_cls', 'student1.loss_kl', 'student2.loss_cls', 'student2.loss_kl',
        'student2.loss_div', 'student2.loss_sd', 'fusion.loss_cls', 'fusion.loss_kl',
        'leader.loss_cls', 'leader.loss_kl', 'leader.loss_fusion', 'leader.loss_trans_fusion',
        'leader.loss_sd', 'self_distillers.student2.loss_feat',
        'self_distillers.student2.loss_att', 'self_distillers.leader.loss_feat',
        'self_distillers.leader.loss_att'}
    sum(v for k, v in losses.items() if k.startswith('student')).backward(retain_graph=True)
    students_only = grads(model.students)
    assert all(g is not None and g.abs().sum() > 0 for g in students_only.values())
    # networks' own losses never reach the Psi modules (their targets come from no_grad)
    assert all(p.grad is None for p in model.self_distillers.parameters())
    model.zero_grad(set_to_none=True)
    sum(losses.values()).backward()
    everything = grads(model.students)
    assert all(torch.equal(students_only[n], everything[n]) for n in students_only)
    # every trainable module gets a gradient from the total loss
    for module in (model.fusion, model.leader, model.trans_fusion, model.self_distillers):
        assert all(p.grad is not None for p in module.parameters())


def test_each_loss_reaches_only_its_own_optimizer(mmpretrain_scope):
    model = build_ffsd()
    losses = model.loss(*batch())
    owners = {'students': model.students, 'fusion': model.fusion,
              'leader': torch.nn.ModuleList([model.leader, model.trans_fusion]),
              'self_distillers': model.self_distillers}
    for key, owner in owners.items():
        model.zero_grad(set_to_none=True)
        group = sum(v for k, v in losses.items() if model._wrapper_of(k) == key)
        group.backward(retain_graph=True)
        for other_key, other in owners.items():
            touched = any(p.grad is not None for p in other.parameters())
            assert touched == (other_key == key), (key, other_key)


def test_psi_changes_only_through_its_own_step(mmpretrain_scope):
    for sd_lr, should_change in ((0.0, False), (1e-3, True)):
        model = build_ffsd()
        wrapper = ffsd_optim_wrapper(model, sd_lr=sd_lr)
        before = copy.deepcopy(model.state_dict())
        data = dict(inputs=[(torch.rand(3, 16, 16) * 255).to(torch.uint8) for _ in range(4)],
                    data_samples=batch()[1])
        model.train_step(data, wrapper)
        after = model.state_dict()
        psi_changed = any(not torch.equal(before[k], after[k]) for k in after
                          if k.startswith('self_distillers.') and 'running' not in k
                          and 'num_batches' not in k)
        assert psi_changed == should_change
        for prefix in ('students.', 'fusion.', 'leader.', 'trans_fusion.'):
            assert any(not torch.equal(before[k], after[k]) for k in after
                       if k.startswith(prefix) and after[k].is_floating_point()
                       and 'running' not in k), prefix


# ------------------------------------------------ train_step, update order, warm-up

def test_train_step_uses_pre_update_targets_in_the_official_order(mmpretrain_scope):
    model = build_ffsd()
    base = copy.deepcopy(model)
    model.loss_weight_factor = 0.5
    reference = copy.deepcopy(model)
    wrapper = ffsd_optim_wrapper(model)
    order = []
    for key in WRAPPER_KEYS:
        wrapper[key].optimizer.register_step_post_hook(
            lambda optimizer, args, kwargs, key=key: order.append(key))
    data = dict(inputs=[(torch.rand(3, 16, 16) * 255).to(torch.uint8) for _ in range(4)],
                data_samples=batch()[1])
    with torch.no_grad():
        processed = reference.data_preprocessor(copy.deepcopy(data), True)
        expected = reference.loss(processed['inputs'], processed['data_samples'])
    log_vars = model.train_step(data, wrapper)
    assert order == WRAPPER_KEYS
    assert list(log_vars)[0] == 'loss'
    for name, value in expected.items():
        # every logged term (fusion/leader targets included) equals the pre-update forward
        assert torch.allclose(log_vars[name], value, rtol=1e-5, atol=1e-7), name
    assert torch.allclose(log_vars['loss'], sum(expected.values()), rtol=1e-5)
    # the warm-up factor scales exactly the lambda terms
    with torch.no_grad():
        full = base.loss(processed['inputs'], processed['data_samples'])
    for name in full:
        scaled = any(t in name for t in ('loss_div', 'loss_sd', 'loss_fusion',
                                         'loss_trans_fusion', 'loss_feat', 'loss_att'))
        ratio = 0.5 if scaled else 1.0
        assert torch.allclose(expected[name], ratio * full[name], rtol=1e-5), name
    # after the update, the same batch gives different fusion targets
    with torch.no_grad():
        processed = model.data_preprocessor(copy.deepcopy(data), True)
        later = model.loss(processed['inputs'], processed['data_samples'])
    assert not torch.allclose(later['fusion.loss_kl'], expected['fusion.loss_kl'])


def test_train_step_needs_the_four_wrappers(mmpretrain_scope):
    from mmengine.optim import OptimWrapper
    model = build_ffsd()
    single = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match='MultiOptimWrapperConstructor'):
        model.train_step(dict(inputs=[], data_samples=[]), single)


def test_ffsd_losses_follow_the_shared_dtype_rule():
    from mmselfkd.models.losses import attention_map, attention_shifted_feature, diversity_loss
    fa, fb = sine_tensor((3, 4, 4, 4), 0.2, 1, 0.37), sine_tensor((3, 4, 4, 4), 0.9, 1, 0.11)
    assert diversity_loss(attention_map(fa), attention_map(fb)).dtype == torch.float64
    assert attention_shifted_feature(fb).dtype == torch.float64
    assert diversity_loss(attention_map(fa.half()), attention_map(fb.half())).dtype == \
        torch.float32
    assert attention_shifted_feature(fb.half()).dtype == torch.float32


def test_float64_train_step(mmpretrain_scope):
    """A float64 model trains in float64 (the losses keep the dtype of their inputs) and
    matches the float32 step."""
    data = dict(inputs=[(torch.rand(3, 16, 16) * 255).to(torch.uint8) for _ in range(4)],
                data_samples=batch()[1])
    single = build_ffsd()
    double = copy.deepcopy(single).double()
    before = copy.deepcopy(double.state_dict())
    log_single = single.train_step(copy.deepcopy(data), ffsd_optim_wrapper(single))
    log_double = double.train_step(copy.deepcopy(data), ffsd_optim_wrapper(double))
    for name, value in log_double.items():
        assert value.dtype == torch.float64, name
        assert torch.allclose(value.float(), log_single[name], rtol=1e-3, atol=1e-6), name
    after = double.state_dict()
    assert all(after[k].dtype == torch.float64 for k in after if after[k].is_floating_point())
    for prefix in ('students.', 'fusion.', 'leader.', 'trans_fusion.', 'self_distillers.'):
        assert any(not torch.equal(before[k], after[k]) for k in after
                   if k.startswith(prefix) and after[k].is_floating_point()), prefix


def test_multi_optim_constructor_checks_coverage(mmpretrain_scope):
    from mmengine.optim import build_optim_wrapper
    model = build_ffsd()
    sgd = dict(optimizer=dict(type='SGD', lr=0.1))
    with pytest.raises(ValueError, match='no wrapper optimizes'):
        build_optim_wrapper(model, dict(constructor='mmselfkd.MultiOptimWrapperConstructor',
                                        students=sgd, fusion=sgd, leader=sgd,
                                        self_distillers=sgd))
    with pytest.raises(ValueError, match='overlaps'):
        build_optim_wrapper(model, dict(constructor='mmselfkd.MultiOptimWrapperConstructor',
                                        students=sgd, fusion=sgd,
                                        leader=dict(sgd, modules=['leader', 'trans_fusion']),
                                        self_distillers=dict(sgd, modules=['self_distillers',
                                                                           'fusion'])))
    wrappers = ffsd_optim_wrapper(model)
    assert list(wrappers.keys()) == WRAPPER_KEYS
    assert wrappers['fusion'].optimizer.param_groups[0]['weight_decay'] == 1e-5
    assert wrappers['leader'].optimizer.param_groups[0]['nesterov'] is True
    assert type(wrappers['self_distillers'].optimizer).__name__ == 'Adam'
    leader_params = {id(p) for p in wrappers['leader'].optimizer.param_groups[0]['params']}
    assert all(id(p) in leader_params for p in model.trans_fusion.parameters())


# ---------------------------------------------------------- predict and export

def test_predict_reports_leader_and_heads_and_exports_the_leader(mmpretrain_scope):
    from mmengine.registry import MODELS
    from mmselfkd.evaluation.metrics import MultiHeadAccuracy
    from mmselfkd.models.algorithms import FFSD
    model = build_ffsd(val_heads=('student1', 'student2', 'fusion')).eval()
    inputs, samples = batch()
    with torch.no_grad():
        results = model(inputs, copy.deepcopy(samples), mode='predict')
    for head in ('student1', 'student2', 'fusion'):
        assert all(f'{head}_score' in r for r in results)
    with torch.no_grad():
        student_logits = model.students(inputs)[1]
    assert torch.allclose(results[0].student2_score, student_logits[1][0].softmax(0))
    metric = MultiHeadAccuracy(heads=['student1', 'student2', 'fusion'])
    metric.process(None, [r.to_dict() for r in results])
    assert set(metric.compute_metrics(metric.results)) == {
        'student1_top1', 'student2_top1', 'fusion_top1', 'best_top1'}

    prefix = FFSD.deploy_prefix(dict(type='mmselfkd.FFSD'))
    assert prefix == 'leader.'
    exported = {k[len(prefix):]: v for k, v in model.state_dict().items()
                if k.startswith(prefix)}
    plain = MODELS.build(small_architecture())
    plain.load_state_dict(exported, strict=True)
    plain.eval()
    with torch.no_grad():
        plain_results = plain(inputs, copy.deepcopy(samples), mode='predict')
    for ours, theirs in zip(results, plain_results):
        assert torch.equal(ours.pred_score, theirs.pred_score)


# ------------------------------------------------------------------- configs

@pytest.mark.parametrize('config', FFSD_CONFIGS + BASELINE_CONFIGS,
                         ids=lambda p: osp.relpath(p, CONFIG_DIR))
@pytest.mark.slow
def test_shipped_configs_build(mmpretrain_scope, config):
    from mmengine.config import Config
    from mmengine.registry import MODELS
    cfg = Config.fromfile(config)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    model = MODELS.build(model_cfg)
    if 'ffsd/' in config:
        assert type(model).__name__ == 'FFSD'
        assert set(cfg.optim_wrapper) - {'constructor'} == set(WRAPPER_KEYS)
        assert set(cfg.param_scheduler) == set(WRAPPER_KEYS)
        assert cfg.model_wrapper_cfg.type == 'MMSeparateDistributedDataParallel'
        assert any(h.type == 'mmselfkd.LossWeightWarmupHook' for h in cfg.custom_hooks)
    if 'cifar100' in config:
        assert cfg.train_cfg.max_epochs == 299
        assert cfg.train_dataloader.batch_size == 128
        assert cfg.train_pipeline[0].padding_mode == 'reflect'
        assert cfg.data_preprocessor.mean == [129.3105, 124.0575, 112.4295]


# ----------------------------------------------------------------- end to end

@pytest.mark.slow
def test_train_resume_test_export_end_to_end(mmpretrain_scope, tiny_cifar100, cifar_options,
                                            tool_runner, tmp_path):
    from mmengine.config import Config, DictAction
    from mmengine.registry import MODELS
    from mmengine.runner import Runner
    config = osp.join(CONFIG_DIR, 'ffsd', 'resnet20_cifar100.py')
    work_dir = str(tmp_path / 'work')
    opts = cifar_options(tiny_cifar100, batch_size=4)
    tool_runner(['tools/train.py', config, '--work-dir', work_dir, '--cfg-options', *opts])
    first = osp.join(work_dir, 'epoch_1.pth')
    assert osp.isfile(first)
    ckpt = torch.load(first, map_location='cpu', weights_only=False)
    assert set(ckpt['optimizer']) == set(WRAPPER_KEYS)
    assert set(ckpt['param_schedulers']) == set(WRAPPER_KEYS)
    for key in WRAPPER_KEYS:
        assert ckpt['optimizer'][key]['state'], key  # momentum / Adam moments exist

    resumed = tool_runner(['tools/train.py', config, '--work-dir', work_dir, '--resume',
                           first, '--cfg-options', *opts[:-3], 'train_cfg.max_epochs=2',
                           *opts[-2:]])
    assert 'resumed epoch: 1' in resumed.stdout + resumed.stderr
    assert osp.isfile(osp.join(work_dir, 'epoch_2.pth'))

    # every optimizer's state comes back on resume
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(parser.parse_args(['--cfg-options', *opts]).cfg_options)
    cfg.work_dir = str(tmp_path / 'reload')
    cfg.load_from, cfg.resume = first, True
    runner = Runner.from_cfg(cfg)
    runner.load_or_resume()
    restored = runner.optim_wrapper.state_dict()
    for key in WRAPPER_KEYS:
        for index, state in ckpt['optimizer'][key]['state'].items():
            for name, value in state.items():
                if torch.is_tensor(value):
                    assert torch.equal(restored[key]['state'][index][name], value)

    second = osp.join(work_dir, 'epoch_2.pth')
    tested = tool_runner(['tools/test.py', config, second, '--work-dir',
                          str(tmp_path / 'test'), '--cfg-options', *opts])
    assert 'heads/student1_top1' in tested.stdout + tested.stderr
    out = str(tmp_path / 'leader.pth')
    tool_runner(['tools/export.py', second, out])
    exported = torch.load(out, weights_only=True)
    plain = MODELS.build(copy.deepcopy(cfg.model.architecture))
    plain.load_state_dict(exported['state_dict'], strict=True)
    full = MODELS.build(dict(copy.deepcopy(cfg.model), data_preprocessor=cfg.data_preprocessor))
    full.load_state_dict(torch.load(second, map_location='cpu',
                                    weights_only=False)['state_dict'])
    plain.eval(), full.eval()
    assert_equal_predictions(full, plain, *batch(4, 32))


@pytest.mark.slow
@pytest.mark.parametrize('memory_saving, port', [(False, 29531), (True, 29532)])
def test_two_process_training_keeps_parameters_identical(memory_saving, port, tiny_cifar100,
                                                          cifar_options, tool_runner, tmp_path):
    """Also with the memory-saving mode, whose students recompute themselves inside the
    forward of their own DDP wrapper."""
    # the shipped config plus a hook that saves every rank's parameters
    config = tmp_path / 'ffsd_dist.py'
    config.write_text(
        f"_base_ = [{osp.join(CONFIG_DIR, 'ffsd', 'resnet20_cifar100.py')!r}]\n"
        "custom_imports = dict(imports=['mmselfkd', 'ffsd_rank_params'],\n"
        "                      allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='mmselfkd.LossWeightWarmupHook', warmup_epochs=5),\n"
        "                dict(type='SaveRankParamsHook')]\n")
    work_dir = str(tmp_path / 'dist')
    opts = cifar_options(tiny_cifar100, batch_size=4) + [f'model.memory_saving={memory_saving}']
    tool_runner(['tools/dist_train.sh', str(config), '2', '--work-dir', work_dir,
                 '--cfg-options', *opts],
                env=dict(PYTHONPATH=osp.join(REPO_ROOT, 'tests') + os.pathsep
                         + os.environ.get('PYTHONPATH', ''), PORT=str(port)))
    rank0 = torch.load(osp.join(work_dir, 'rank0_params.pth'), weights_only=True)
    rank1 = torch.load(osp.join(work_dir, 'rank1_params.pth'), weights_only=True)
    assert rank0['iters'] == rank1['iters'] == 4
    assert set(rank0['params']) == set(rank1['params'])
    for prefix in ('students.', 'fusion.', 'leader.', 'trans_fusion.', 'self_distillers.'):
        names = [n for n in rank0['params'] if n.startswith(prefix)]
        assert names, prefix
        for name in names:
            assert torch.equal(rank0['params'][name], rank1['params'][name]), name
    # the ranks saw different images: their BN statistics (not synchronised) differ
    assert any(not torch.equal(rank0['buffers'][n], rank1['buffers'][n])
               for n in rank0['buffers'] if 'running_mean' in n)
