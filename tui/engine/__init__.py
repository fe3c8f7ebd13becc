"""Headless engine: tracer, snapshots, autograd probes, recordings, devices, export, diff.

This package never imports textual. torch is imported only by the modules that run scripts.
"""
