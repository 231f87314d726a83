"""hwsim.spec: accelerator descriptions (YAML or SCALE-Sim .cfg) as validated frozen dataclasses."""

from hwsim.spec.loader import load_arch
from hwsim.spec.schema import (
    DRAM,
    Arch,
    ComputeUnit,
    FPGADevice,
    MemoryLevel,
    Override,
    PEArray,
    Precision,
    Route,
    Technology,
    VectorUnit,
)

__all__ = [
    "DRAM",
    "Arch",
    "ComputeUnit",
    "FPGADevice",
    "MemoryLevel",
    "Override",
    "PEArray",
    "Precision",
    "Route",
    "Technology",
    "VectorUnit",
    "load_arch",
]
