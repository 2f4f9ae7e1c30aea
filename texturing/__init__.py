"""Pain3D texturing: procedural and diffusion-painted UV skin textures."""
