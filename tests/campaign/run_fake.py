"""Subprocess entry of the crash tests: run a campaign with the fake parts."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from fakeparts import make  # noqa: E402

from alearn.campaign.loop import run_campaign  # noqa: E402

if __name__ == "__main__":
    outcome = run_campaign(Path(sys.argv[1]), directory=Path(sys.argv[2]), parts_factory=make,
                           allow_changes="--allow-changes" in sys.argv)
    print(outcome.stop_reason)
