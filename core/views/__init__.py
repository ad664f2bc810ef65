"""What the pages draw from a run, as plain data: Plotly figures (core.views.charts), PNG pictures the
server draws (core.views.pictures) and the panels inside the network (core.views.inside_view).

May use: core.config, core.runs.
"""
