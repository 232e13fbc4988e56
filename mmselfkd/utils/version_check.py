"""Check the OpenMMLab stack before anything else imports it, with actionable messages."""
from importlib.metadata import PackageNotFoundError, version

from mmengine.utils import digit_version

# package: (minimum inclusive, maximum exclusive, what to install)
REQUIREMENTS = {
    'mmengine': ('0.10.6', '1.0.0', 'pip install "mmengine==0.10.7"'),
    'mmpretrain': ('1.2.0', '1.3.0', 'pip install "mmpretrain==1.2.0"'),
}
# mmseg 1.2.2 and mmdet 3.3.0 assert mmcv<2.2.0 and need its compiled ops.
OPTIONAL = {
    'mmcv': ('2.0.0', '2.2.0', 'bash tools/install.sh  (builds mmcv 2.1.0 with compiled ops)'),
    'mmsegmentation': ('1.2.0', '1.3.0', 'pip install "mmsegmentation==1.2.2" ftfy regex'),
    'mmdet': ('3.3.0', '3.4.0', 'pip install "mmdet==3.3.0"'),
}


def _installed(name):
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _check(name, low, high, hint, required):
    found = _installed(name)
    if found is None:
        if required:
            raise ImportError(f'mmselfkd needs {name}>={low},<{high}, which is not installed. '
                              f'Install it with: {hint}')
        return
    if not digit_version(low) <= digit_version(found) < digit_version(high):
        raise ImportError(f'mmselfkd needs {name}>={low},<{high}, but {name}=={found} is '
                          f'installed. Install a matching release with: {hint}')


def check_versions():
    """Raise ``ImportError`` naming the exact install command when a version is off."""
    for name, (low, high, hint) in REQUIREMENTS.items():
        _check(name, low, high, hint, required=True)
    for name, (low, high, hint) in OPTIONAL.items():
        _check(name, low, high, hint, required=False)
    if _installed('mmcv') is None and _installed('mmcv-lite') is None:
        raise ImportError('mmselfkd needs mmcv 2.x (mmpretrain imports it). '
                          f'Install it with: {OPTIONAL["mmcv"][2]}')
