"""Probe: facts about this host, read from the OS, the drivers and the engine. No judgement."""
