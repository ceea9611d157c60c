"""Which GPU makers' display devices sit on the PCI bus (sysfs), driver or not."""

from __future__ import annotations

from pathlib import Path

VENDORS = {"0x10de": "nvidia", "0x1002": "amd", "0x8086": "intel"}
DISPLAY_CLASS = "0x03"  # PCI base class 03: display controllers (VGA, 3D, other)


def pci_gpu_vendors(root: Path = Path("/")) -> tuple[str, ...]:
    found: set[str] = set()
    for device in sorted((root / "sys/bus/pci/devices").glob("*")):
        try:
            pci_class = (device / "class").read_text().strip()
            vendor = (device / "vendor").read_text().strip()
        except OSError:
            continue
        if pci_class.startswith(DISPLAY_CLASS) and vendor in VENDORS:
            found.add(VENDORS[vendor])
    return tuple(sorted(found))
