"""dnemkit.data: the Sensorium 2023 layout (read recorded trials, write synthetic mice in the same layout)."""

from .sensorium import (
    KINDS,
    TIERS,
    SensoriumMouse,
    Trial,
    find_mouse,
    open_dataset,
    open_mice,
    open_mouse,
    write_mouse,
)

__all__ = [
    "KINDS",
    "TIERS",
    "SensoriumMouse",
    "Trial",
    "find_mouse",
    "open_dataset",
    "open_mice",
    "open_mouse",
    "write_mouse",
]
