from . import algorithms, aux_branches, backbones, losses, self_teachers, utils  # noqa: F401
from .algorithms import *  # noqa: F401,F403
from .aux_branches import *  # noqa: F401,F403
from .backbones import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .self_teachers import *  # noqa: F401,F403
