"""Pain3D training: ViTPain teacher/student distillation with timm and PyTorch."""

from pain3d.checkout import require_namespace

require_namespace(__name__, "pain3d.training")
