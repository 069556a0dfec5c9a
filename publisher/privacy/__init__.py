"""The privacy screen: personal-data detectors and column policies.

    from publisher.privacy import screen_tables      # the runner's Screen
    RunDeps(screen=screen_tables)

``scan_csv`` returns the findings for one normalised CSV; ``screen_file`` and
``screen_dataset`` back the ``publisher screen`` command.
"""

from __future__ import annotations

from publisher.privacy.detectors import KINDS, Finding
from publisher.privacy.masking import mask_value
from publisher.privacy.report import ScreenReport, screen_dataset, screen_file
from publisher.privacy.scan import scan_csv
from publisher.privacy.screen import blocked_message, screen_tables

__all__ = [
    "KINDS", "Finding", "ScreenReport", "blocked_message", "mask_value", "scan_csv", "screen_dataset",
    "screen_file", "screen_tables",
]
