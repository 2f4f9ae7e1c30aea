"""Pain3D texturing: procedural and diffusion-painted UV skin textures."""

from pain3d.checkout import require_namespace

require_namespace(__name__, "pain3d.texturing")
