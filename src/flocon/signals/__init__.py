"""Signals: volume spikes, shifts to negative, snowball risk and episodes (issue 5)."""

from typing import Final

#: The kinds of signal, as alerts, rules and `flocon replay` name them.
KINDS: Final = ("spike", "negative_shift", "snowball", "influencer", "new_site", "source_down")
