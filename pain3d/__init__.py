"""Pain3D: synthetic 3D pain-face data and pain-assessment models.

The `pain3d` package is the pure core (numpy only, no bpy, no torch): the FACS
catalog and PSPI, seeded samplers, job files, the plan and the dataset
contract, plus the `pain3d` command line that orchestrates the other parts.
"""

__version__ = "0.1.0"
