"""Pain3D render farm: headless multi-view rendering of planned datasets (`farm/render.py`)."""
