"""The run store: every run's folder, what each of its files may hold, and the records beside the runs.

Owns: the store (core.runs.store, whose docstring draws the folder layout), run states, the held-out
results' record, the per-epoch snapshots of the network, the record of drawings a run trained on, the
class's people (core.runs.classroom) and lessons (core.runs.lessons), whole-or-nothing writes and process
liveness. Nothing read from disk
is trusted: each file is checked as it is read (core.runs.files).

May use: core.config only.
"""
