"""The demo: sample projects, sessions and checkpoints, and the demo login.

The one place that may use every app: it is the top of the layers (docs/architecture.md).
"""
