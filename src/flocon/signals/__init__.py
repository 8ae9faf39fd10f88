"""Signals: volume spikes, shifts to negative, snowball risk and episodes (issue 5)."""
