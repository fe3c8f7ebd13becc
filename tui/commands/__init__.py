"""One module per sub-command; each exposes functions taking argparse's Namespace and returning an exit code."""
