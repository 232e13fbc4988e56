"""Shared distillation losses against golden values of the official formulas."""
import pytest
import torch
import torch.nn.functional as F

from mmselfkd.models.losses import attention_transfer, kl_divergence, normalized_distance

from conftest import ramp, rel_error, sine_tensor  # noqa: E402


def test_kl_golden_and_equivalence_to_torch():
    zs, zt = sine_tensor((4, 10), 0, 3), sine_tensor((4, 10), 1, 3)
    value = kl_divergence(zs.float(), zt.float(), temperature=4)
    assert rel_error(value, 1.0770834198) < 1e-5  # float32 path, as used in training
    assert rel_error(kl_divergence(zs, zt, temperature=4), 1.0770834198) < 1e-9  # float64 stays
    reference = F.kl_div(F.log_softmax(zs / 4, 1), F.softmax(zt / 4, 1),
                         reduction='batchmean') * 16
    assert rel_error(reference, 1.0770834198) < 1e-9


def test_kl_pixel_reduction_averages_over_pixels():
    s, t = sine_tensor((2, 5, 3, 3), 0.2, 2), sine_tensor((2, 5, 3, 3), 0.9, 2)
    per_pixel = kl_divergence(s, t, 1.0, reduction='none')
    assert per_pixel.shape == (2, 3, 3)
    assert kl_divergence(s, t, 1.0, reduction='pixel') == pytest.approx(per_pixel.mean().item())
    # batchmean on dense maps divides by N only (sum over H*W)
    assert kl_divergence(s, t, 1.0) == pytest.approx(per_pixel.sum().item() / 2)
    with pytest.raises(ValueError, match='reduction'):
        kl_divergence(s, t, 1.0, reduction='mean')
    with pytest.raises(ValueError, match='equal shape'):
        kl_divergence(s, t[:, :4], 1.0)


def test_attention_transfer_goldens():
    fs0 = sine_tensor((4, 8, 6, 6), 0.3, 1, 0.37) * ramp(6)
    ft0 = sine_tensor((4, 16, 6, 6), 0.7, 1, 0.11) * ramp(6).flip(-1)
    fs1 = sine_tensor((4, 8, 3, 3), 0.5, 1, 0.37) * ramp(3)
    ft1 = sine_tensor((4, 16, 3, 3), 0.9, 1, 0.11) * ramp(3).flip(-1)
    assert rel_error(attention_transfer(fs0, ft0), 0.00133375) < 1e-6
    assert rel_error(attention_transfer(fs1, ft1), 0.032739816) < 1e-6
    with pytest.raises(ValueError, match='spatial'):
        attention_transfer(fs0, ft1)


def test_normalized_distance_ffsd_goldens():
    fa, fb = sine_tensor((3, 4, 4, 4), 0.2, 1, 0.37), sine_tensor((3, 4, 4, 4), 0.9, 1, 0.11)
    attention = lambda f: f.pow(2).mean(1, keepdim=True)  # noqa: E731
    assert rel_error(normalized_distance(attention(fa), attention(fb)), 0.0133606234) < 1e-6
    assert rel_error(normalized_distance(fa, fb), 0.0308495784) < 1e-6


def test_losses_stay_float32_under_half_inputs():
    s, t = sine_tensor((4, 10), 0, 3).half(), sine_tensor((4, 10), 1, 3).half()
    assert kl_divergence(s, t, 4).dtype == torch.float32
