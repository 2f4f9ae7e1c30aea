"""Pain3D application layer: the `pain3d` command line, the dataset report, exports, the judge and
the extension builder. It may import every other layer; nothing imports it."""

from pain3d.checkout import require_namespace

require_namespace(__name__, "pain3d.app")
