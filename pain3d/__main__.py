"""`python -m pain3d ...`: the same command line as `pain3d ...`.

The one module of the core folder that reaches upward: it is the entry point, not a library
module, and the Blender extension leaves it out."""

from pain3d.app.cli import main

main(prog_name="pain3d")
