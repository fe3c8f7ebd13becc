"""`python -m tui` is the gradstep command."""

from tui.cli import main

raise SystemExit(main())
