"""Pain3D render farm: headless rendering of planned datasets, shards and their merge, the local
and SLURM launchers, and the label passes (`farm/render.py`, `farm/render_bundles.py`)."""

from pain3d.checkout import require_namespace

require_namespace(__name__, "pain3d.farm")
