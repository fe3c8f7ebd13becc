"""`gradstep devices [--json]`: cpu, every cuda:N and mps, with why a device cannot be used."""

from __future__ import annotations

import argparse
import json

from tui.engine.devices import list_devices


def main(args: argparse.Namespace) -> int:
    """Print the devices as a Rich table, or as a JSON list of {name, available, reason, details}."""
    devices = list_devices()
    if args.json:
        print(json.dumps([device.to_json() for device in devices], indent=2))
        return 0
    # Rich is imported here, not at module level: --json does not need it.
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Devices gradstep can run a script on")
    table.add_column("device", style="bold")
    table.add_column("available")
    table.add_column("details or reason")
    for device in devices:
        status = "[green]yes[/]" if device.available else "[red]no[/]"
        table.add_row(device.name, status, device.details if device.available else (device.reason or ""))
    Console().print(table)
    return 0
