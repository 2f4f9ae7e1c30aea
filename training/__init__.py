"""Pain3D training: ViTPain teacher/student distillation with timm and PyTorch."""
