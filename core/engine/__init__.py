"""How runs come to be: the job manager and its queue (core.engine.jobs), where a training runs (this
machine's worker processes, or a Dask cluster: core.engine.execution), the live curves' points and the
progress line, and importing a stranger's model as a run.

May use: every other package of core.
"""
