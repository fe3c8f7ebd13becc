"""Steps into words and numbers: the chain rule at a backward node, an optimizer's arithmetic, a reset.

Pure functions over the plain-data Step model (tui.steps.model), shared by the app's panes,
`gradstep show` and exported images so that each event has one wording everywhere.
Never imports torch or textual.
"""
