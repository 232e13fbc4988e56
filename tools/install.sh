#!/usr/bin/env bash
# Install mmselfkd and the OpenMMLab stack it needs into the current Python environment.
#
#   bash tools/install.sh                   # everything: classification, segmentation, detection
#   bash tools/install.sh --classification  # fast path: no compiled mmcv ops, no mmseg/mmdet
#
# Idempotent: re-running skips what is already there, and the full install after the fast path
# replaces mmcv-lite and adds mmseg/mmdet. What it does, in order (each step is skipped when
# already satisfied):
#   1. torch/torchvision: an existing install is kept (e.g. a GPU user's CUDA build);
#      torch==2.14.1 torchvision==0.29.1 are installed only when torch is missing.
#   2. setuptools<82 (mmengine 0.10.7 and mmcv's setup.py still import pkg_resources).
#   3. mmengine==0.10.7.
#   4. mmcv==2.1.0 with compiled ops, when `from mmcv.ops import nms` fails. With
#      --classification: mmcv-lite==2.1.0 instead (pure Python, seconds), unless an mmcv 2.1.0
#      is already there; classifiers need none of the compiled ops. No mmcv wheel
#      exists for current torch, so it is built from the PyPI source: --no-build-isolation,
#      MMCV_WITH_OPS=1, -std=c++20 for torch>=2.14 headers, CUDA ops when nvcc and a GPU
#      are present. The wheel is cached outside the repository under a key of the mmcv,
#      torch and Python versions (pip's own wheel cache ignores the torch version, an ABI
#      trap), so a second run or a second clone installs it in seconds.
#   5. mmpretrain==1.2.0, and without --classification mmsegmentation==1.2.2 (+ ftfy, regex)
#      and mmdet==3.3.0.
#   6. each test requirement that is not satisfied, and `pip install -e .` (mmselfkd itself).
#
# Environment variables:
#   PYTHON               interpreter to install into (default: python)
#   MMSELFKD_CACHE_DIR   where built wheels are kept (default: ~/.cache/mmselfkd)
#   MAX_JOBS             parallel compile jobs for the mmcv build (default: nproc)
set -euo pipefail

CLASSIFICATION_ONLY=0
for arg in "$@"; do
    case "$arg" in
        --classification) CLASSIFICATION_ONLY=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $arg (expected --classification or nothing)" >&2; exit 2 ;;
    esac
done

PY=${PYTHON:-python}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE_DIR=${MMSELFKD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mmselfkd}
MMCV_VERSION=2.1.0
TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
PIP=("$PY" -m pip install --disable-pip-version-check)

log() { printf '[install.sh %(%H:%M:%S)T] %s\n' -1 "$*"; }
# write_constraints: $CONSTRAINTS pins what is installed, so no resolver replaces torch or mmcv
CONSTRAINTS=$(mktemp)
trap 'rm -f "$CONSTRAINTS"' EXIT
write_constraints() {
    "$PY" - >"$CONSTRAINTS" <<'EOF'
from importlib.metadata import PackageNotFoundError, version
for name in ('torch', 'torchvision', 'mmcv', 'mmcv-lite', 'mmengine'):
    try:
        print(f'{name}=={version(name)}')
    except PackageNotFoundError:
        pass
print('setuptools<82')
EOF
}
have() { "$PY" -c "$1" >/dev/null 2>&1; }
# version_is PKG VERSION: true when the installed distribution has exactly that version
version_is() {
    "$PY" - "$1" "$2" <<'EOF' >/dev/null 2>&1
import sys
from importlib.metadata import version
sys.exit(0 if version(sys.argv[1]) == sys.argv[2] else 1)
EOF
}

# 1. torch ------------------------------------------------------------------------------
if have "import torch"; then
    log "torch $("$PY" -c 'import torch; print(torch.__version__)') is installed; keeping it"
    if ! have "import torchvision"; then
        log "installing torchvision (mmpretrain imports it)"
        if version_is torch "$TORCH_VERSION"; then
            "${PIP[@]}" "torchvision==$TORCHVISION_VERSION"
        else
            echo "torchvision is missing. Install the torchvision release that matches your torch" >&2
            echo "(see https://pytorch.org/get-started/previous-versions/), then re-run this script." >&2
            exit 1
        fi
    fi
else
    log "installing torch==$TORCH_VERSION torchvision==$TORCHVISION_VERSION"
    "${PIP[@]}" "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
fi

# 2. setuptools<82, after torch (installing torch can pull a newer setuptools) -------------
if ! have "import pkg_resources"; then
    log "installing setuptools<82 (pkg_resources is needed by mmengine 0.10.7 and mmcv's setup.py)"
    "${PIP[@]}" "setuptools<82"
fi

# 3. mmengine -------------------------------------------------------------------------------
if ! version_is mmengine 0.10.7; then
    log "installing mmengine==0.10.7"
    "${PIP[@]}" "mmengine==0.10.7"
fi

# 4. mmcv with compiled ops (or mmcv-lite for --classification) -------------------------------
if [ "$CLASSIFICATION_ONLY" = 1 ]; then
    if version_is mmcv "$MMCV_VERSION" || version_is mmcv-lite "$MMCV_VERSION"; then
        log "mmcv $MMCV_VERSION is installed"
    else
        "$PY" -m pip uninstall -y mmcv mmcv-lite mmcv-full >/dev/null 2>&1 || true
        log "installing mmcv-lite==$MMCV_VERSION (no compiled ops: classification only)"
        write_constraints
        "${PIP[@]}" -c "$CONSTRAINTS" "mmcv-lite==$MMCV_VERSION"
    fi
elif have "from mmcv.ops import nms" && version_is mmcv "$MMCV_VERSION"; then
    log "mmcv $MMCV_VERSION with compiled ops is installed"
else
    if have "import mmcv"; then
        log "removing the installed mmcv/mmcv-lite (no compiled ops or another version)"
        "$PY" -m pip uninstall -y mmcv mmcv-lite mmcv-full >/dev/null 2>&1 || true
    fi
    read -r TORCH_TAG PY_TAG WITH_CUDA CXX_STD < <("$PY" - <<'EOF'
import shutil, sys
import torch
cuda = torch.cuda.is_available() and torch.version.cuda is not None and shutil.which('nvcc') is not None
major, minor = (int(v) for v in torch.__version__.split('+')[0].split('.')[:2])
cxx = 'c++20' if (major, minor) >= (2, 14) else 'c++17'
print(torch.__version__.replace('+', '_'), f'cp{sys.version_info.major}{sys.version_info.minor}',
      int(cuda), cxx)
EOF
)
    KEY="mmcv-${MMCV_VERSION}_torch-${TORCH_TAG}_${PY_TAG}_$([ "$WITH_CUDA" = 1 ] && echo cuda || echo cpu)"
    WHEEL_DIR="$CACHE_DIR/wheels/$KEY"
    WHEEL=$(ls "$WHEEL_DIR"/mmcv-*.whl 2>/dev/null | head -n 1 || true)
    if [ -z "$WHEEL" ]; then
        log "no cached mmcv wheel for $KEY: building mmcv $MMCV_VERSION from source"
        log "this takes about 8 minutes on 2 idle CPU cores (longer with CUDA ops or a busy machine); the wheel is cached in $WHEEL_DIR"
        # ninja lets torch's extension builder compile MAX_JOBS files in parallel.
        have "import ninja" || "${PIP[@]}" ninja
        BUILD=$(mktemp -d)
        trap 'rm -rf "$BUILD" "$CONSTRAINTS"' EXIT
        "$PY" -m pip download --disable-pip-version-check --no-deps --no-binary :all: \
            --no-build-isolation -d "$BUILD" "mmcv==$MMCV_VERSION"
        tar xzf "$BUILD/mmcv-$MMCV_VERSION.tar.gz" -C "$BUILD"
        SRC="$BUILD/mmcv-$MMCV_VERSION"
        # torch>=2.14 headers require C++20; mmcv's setup.py hard-codes -std=c++17.
        sed -i "s/-std=c++17/-std=$CXX_STD/g" "$SRC/setup.py"
        mkdir -p "$WHEEL_DIR"
        BUILD_LOG="$CACHE_DIR/logs/$KEY.log"
        mkdir -p "$(dirname "$BUILD_LOG")"
        log "full build log: $BUILD_LOG"
        if ! ( cd "$SRC" && MMCV_WITH_OPS=1 FORCE_CUDA="$WITH_CUDA" MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
                "$PY" -m pip wheel --disable-pip-version-check --no-build-isolation --no-deps -v . \
                -w "$BUILD/dist" 2>&1 | tee "$BUILD_LOG" | "$PY" -u "$ROOT/tools/misc/progress.py" ); then
            echo "mmcv build failed; the log is $BUILD_LOG (see README 'Troubleshooting')." >&2
            exit 1
        fi
        BUILT=$(ls "$BUILD"/dist/mmcv-*.whl 2>/dev/null | head -n 1 || true)
        if [ -z "$BUILT" ]; then
            echo "mmcv build produced no wheel; the log is $BUILD_LOG." >&2
            exit 1
        fi
        cp "$BUILT" "$WHEEL_DIR/"
        WHEEL="$WHEEL_DIR/$(basename "$BUILT")"
        log "mmcv wheel built: $WHEEL"
    else
        log "using the cached mmcv wheel $WHEEL"
    fi
    "${PIP[@]}" "$WHEEL"
    "$PY" -c "from mmcv.ops import nms" || { echo "mmcv.ops still fails to import" >&2; exit 1; }
fi

# 5. OpenMMLab task libraries ---------------------------------------------------------------
want=()
version_is mmpretrain 1.2.0 || want+=("mmpretrain==1.2.0")
if [ "$CLASSIFICATION_ONLY" = 0 ]; then
    version_is mmsegmentation 1.2.2 || want+=("mmsegmentation==1.2.2")
    version_is mmdet 3.3.0 || want+=("mmdet==3.3.0")
    have "import ftfy, regex" || want+=(ftfy regex)
fi
if [ ${#want[@]} -gt 0 ]; then
    log "installing ${want[*]}"
    write_constraints
    "${PIP[@]}" -c "$CONSTRAINTS" "${want[@]}"
fi

# 6. tests and mmselfkd ------------------------------------------------------------------------
# each requirement line on its own, so that a line added later is installed on the next run
mapfile -t missing < <("$PY" - "$ROOT/requirements/tests.txt" <<'EOF'
import sys
from importlib.metadata import PackageNotFoundError, version
try:
    from packaging.requirements import Requirement
except ImportError:  # a bare venv: pip vendors packaging
    from pip._vendor.packaging.requirements import Requirement
for line in open(sys.argv[1]):
    line = line.split('#')[0].strip()
    if not line:
        continue
    req = Requirement(line)
    try:
        satisfied = req.specifier.contains(version(req.name), prereleases=True)
    except PackageNotFoundError:
        satisfied = False
    if not satisfied:
        print(line)
EOF
)
if [ ${#missing[@]} -gt 0 ]; then
    log "installing the test requirements ${missing[*]}"
    write_constraints
    "${PIP[@]}" -c "$CONSTRAINTS" "${missing[@]}"
fi
if ! (cd / && "$PY" - "$ROOT" <<'EOF' >/dev/null 2>&1
import os, sys
import mmselfkd
sys.exit(0 if os.path.dirname(os.path.dirname(os.path.abspath(mmselfkd.__file__))) == sys.argv[1] else 1)
EOF
); then
    log "installing mmselfkd (editable) from $ROOT"
    "${PIP[@]}" --no-build-isolation --no-deps -e "$ROOT"
fi

if [ "$CLASSIFICATION_ONLY" = 1 ]; then
    "$PY" -c "import mmselfkd, mmpretrain; print('mmselfkd', mmselfkd.__version__, 'ready for classification:', 'mmpretrain', mmpretrain.__version__)"
    log "done (classification only; bash tools/install.sh adds the compiled mmcv ops, mmseg and mmdet)"
else
    "$PY" -c "import mmselfkd, mmseg, mmdet, mmpretrain; print('mmselfkd', mmselfkd.__version__, 'ready:', 'mmpretrain', mmpretrain.__version__, 'mmseg', mmseg.__version__, 'mmdet', mmdet.__version__)"
    log "done"
fi
