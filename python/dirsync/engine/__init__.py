"""The sync engine: scope, attribute flow, planning, the guard and the run (see run.py)."""
