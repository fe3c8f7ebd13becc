"""The `gradstep` command: argument parsing and dispatch.

Start-up must stay fast (`gradstep --version` in well under 0.3 s), so this
module imports only the standard library. Each sub-command lives in
`tui.commands.<name>` and is imported only when it runs: those pull in torch,
textual or rich as they need.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import typing
from collections.abc import Sequence

from tui import __version__
from tui.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, GradstepError

COMMANDS = ("run", "lesson", "lessons", "record", "replay", "show", "export", "devices", "diff", "serve")

# sub-command -> (module under tui.commands, function in it)
_HANDLERS = {
    "picker": ("app", "picker"),
    "run": ("app", "run"),
    "lesson": ("app", "lesson"),
    "replay": ("app", "replay"),
    "lessons": ("lessons", "main"),
    "record": ("record", "main"),
    "show": ("show", "main"),
    "export": ("export", "main"),
    "devices": ("devices", "main"),
    "diff": ("diff", "main"),
    "serve": ("serve", "main"),
}

PREDICT_HELP = "predict mode: before a step changes a number, type what you expect (`a` toggles it in the app)"
DEVICE_HELP = "run the script on this device: cpu, cuda, cuda:N or mps (default: cpu)"
# Sub-commands that run a script: words after SCRIPT, and everything after `--`, are its sys.argv[1:].
SCRIPT_COMMANDS = ("run", "record", "export")


def _at_least_one(text: str) -> int:
    """--max-steps N: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _add_script_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "script_args",
        nargs="*",
        metavar="ARGS",
        help="the script's own arguments (its sys.argv[1:]); put them after `--` when they start with -",
    )


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line: the usage stays in --help."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", metavar="DEVICE", help=DEVICE_HELP)
    parser.add_argument(
        "--max-steps",
        type=_at_least_one,
        default=100_000,
        metavar="N",
        help="end the run with a 'limit' step after N steps (default: 100000)",
    )
    parser.add_argument(
        "--break",
        dest="breakpoints",
        action="append",
        default=[],
        metavar="LINE[:CONDITION]",
        help="a breakpoint on this line of the script, stopping only when CONDITION holds if given (repeatable)",
    )


def _add_inspect_options(parser: argparse.ArgumentParser) -> None:
    from tui.commands.inspect_args import add_inspect_options  # --watch, --break-on (issue 13)

    add_inspect_options(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gradstep",
        description=(
            "Step through a PyTorch script one keystroke at a time: backprop, optimize, reset. "
            "`gradstep SCRIPT` opens the debugger on a script; `gradstep` alone opens the lessons."
        ),
        epilog=(
            "exit codes: 0 success; 1 the script raised (record) or differences found (diff); "
            "2 bad input; 3 Graphviz missing for an image export"
        ),
    )
    parser.add_argument("--version", action="version", version=f"gradstep {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="open the debugger on a script (same as `gradstep SCRIPT`)")
    run.add_argument("script", metavar="SCRIPT", help="a Python script that uses PyTorch")
    _add_script_args(run)
    _add_run_options(run)
    run.add_argument("--predict", action="store_true", help=PREDICT_HELP)
    _add_inspect_options(run)

    lesson = commands.add_parser("lesson", help="open a lesson of the course by id (`03` or `03-sgd-to-15`)")
    lesson.add_argument("lesson_id", metavar="ID")
    lesson.add_argument("--copy", metavar="DIR", help="copy the lesson's script into DIR (to edit and step again) and exit")
    _add_run_options(lesson)
    lesson.add_argument("--predict", action="store_true", help=PREDICT_HELP)
    _add_inspect_options(lesson)

    lessons = commands.add_parser("lessons", help="list the lessons")
    lessons.add_argument(
        "--json", action="store_true", help="print a JSON list of {id, title, summary, path, predict}"
    )

    record = commands.add_parser("record", help="run a script or lesson headless and write a .gstep recording")
    record.add_argument("script", metavar="SCRIPT", help="a script path, or a lesson id")
    _add_script_args(record)
    record.add_argument("-o", "--output", required=True, metavar="FILE.gstep", help="where to write the recording")
    _add_run_options(record)
    _add_inspect_options(record)
    record.add_argument(
        "--breaks-only",
        action="store_true",
        help="keep steps only at breakpoints and the end; run at native speed in between",
    )

    replay = commands.add_parser("replay", help="open a recording in the debugger (runs no code)")
    replay.add_argument("recording", metavar="FILE.gstep")
    replay.add_argument("--predict", action="store_true", help=PREDICT_HELP)

    show = commands.add_parser("show", help="print the state at one step of a recording")
    show.add_argument("recording", metavar="FILE.gstep")
    which = show.add_mutually_exclusive_group()
    which.add_argument("--step", type=int, metavar="N", help="the step to show (0-based; default: the last)")
    which.add_argument("--last", action="store_true", help="show the last step (the default)")
    which.add_argument("--timeline", action="store_true", help="one entry per step instead of one state")
    show.add_argument("--json", action="store_true", help="print JSON (the format is documented in the README)")
    show.add_argument("--full", action="store_true", help="print all of a long output (by default its last 200 lines)")

    export = commands.add_parser("export", help="draw the autograd graph at a step as svg, png, pdf or dot")
    export.add_argument("source", metavar="SCRIPT_OR_RECORDING")
    _add_script_args(export)
    export.add_argument("-o", "--output", required=True, metavar="OUT", help="the file to write")
    export.add_argument("--step", type=int, metavar="N", help="the step to draw (default: the last)")
    export.add_argument("--tensor", metavar="NAME", help="the tensor whose graph to draw (default: the latest loss)")
    export.add_argument("--format", choices=("svg", "png", "pdf", "dot"), help="default: from OUT's suffix, else svg")
    export.add_argument(
        "--html",
        action="store_true",
        help="write one self-contained HTML page that steps through the whole run (OUT.html)",
    )
    export.add_argument(
        "--graphs",
        type=int,
        default=60,
        metavar="N",
        help="--html: graph pictures for the first N backward steps (default: 60; each is a run of dot)",
    )
    export.add_argument("--scale", type=float, metavar="K", help="PNG: K times the default resolution (2 for slides)")
    export.add_argument("--dpi", type=float, metavar="N", help="PNG: this resolution in dots per inch")
    export.add_argument("--plain", action="store_true", help="no title, legend or values on function nodes")
    export.add_argument(
        "--animate",
        choices=("gif", "apng"),
        help="with --all-steps and PNG frames: also write an animated GIF or APNG beside them",
    )
    export.add_argument("--no-values", action="store_true", help="leave values and grads off the nodes")
    export.add_argument("--show-attrs", action="store_true", help="torchviz's show_attrs: saved attributes")
    export.add_argument("--show-saved", action="store_true", help="torchviz's show_saved: saved tensors")
    export.add_argument(
        "--all-steps",
        action="store_true",
        help="one numbered image per backward sub-step (a flip-book of the gradient flowing back)",
    )
    _add_run_options(export)

    serve = commands.add_parser("serve", help="serve the app in a browser on 127.0.0.1 (textual-serve)")
    serve.add_argument("target", nargs="*", metavar="SCRIPT | RECORDING | lesson ID", help="default: the lesson picker")
    serve.add_argument("--port", type=int, default=8000, metavar="N", help="the port (default: 8000)")

    devices = commands.add_parser("devices", help="list cpu, cuda:N and mps, and whether each can be used")
    devices.add_argument("--json", action="store_true", help='print [{"name", "available", "reason", "details"}]')

    diff = commands.add_parser("diff", help="compare two recordings step by step")
    diff.add_argument("a", metavar="A.gstep")
    diff.add_argument("b", metavar="B.gstep")
    diff.add_argument("--rtol", type=float, default=1e-5, help="relative tolerance (default: 1e-5)")
    diff.add_argument("--atol", type=float, default=1e-6, help="absolute tolerance (default: 1e-6)")
    return parser


def _normalise(argv: list[str]) -> list[str]:
    """`gradstep SCRIPT ...` means `gradstep run SCRIPT ...`."""
    if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
        return ["run", *argv]
    return argv


def _split_script_args(argv: list[str]) -> tuple[list[str], list[str]]:
    """(gradstep's arguments, the script's arguments after the first `--`) for a script command."""
    if argv and argv[0] in SCRIPT_COMMANDS and "--" in argv:
        cut = argv.index("--")
        return argv[:cut], argv[cut + 1 :]
    return argv, []


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run one sub-command, and return its exit code."""
    own, script_tail = _split_script_args(_normalise(list(sys.argv[1:] if argv is None else argv)))
    parser = build_parser()
    args, extras = parser.parse_known_args(own)
    if extras:
        # Words for the script that came after gradstep's own options (`record s.py -o r.gstep 3`)
        # are still the script's; an option gradstep does not know is an error, as argparse says.
        unknown = [word for word in extras if word.startswith("-")]
        if unknown or not hasattr(args, "script_args"):
            hint = " (the script's own options go after `--`)" if hasattr(args, "script_args") else ""
            parser.error(f"unrecognized arguments: {' '.join(unknown or extras)}{hint}")
    if hasattr(args, "script_args"):
        args.script_args = [*args.script_args, *extras, *script_tail]
    command = args.command or "picker"
    module_name, function_name = _HANDLERS[command]
    try:
        from tui.commands.inspect_args import resolve_inspect  # --break LINE:CONDITION, --watch, --break-on

        resolve_inspect(args)
        module = importlib.import_module(f"tui.commands.{module_name}")
        return int(getattr(module, function_name)(args) or 0)
    except GradstepError as error:
        print(f"gradstep: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("gradstep: interrupted", file=sys.stderr)
        return 130
    except ImportError as error:
        # A missing dependency (say, torch for a live run) is the user's setup, not a crash.
        print(f"gradstep: error: {error} (is gradstep installed with its dependencies?)", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # `gradstep show --timeline --json | head`: the reader left; that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:  # a full disk, a vanished directory: the user's machine, said in one line
        print(f"gradstep: error: {error.strerror or error}: {error.filename or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as error:
        if os.environ.get("GRADSTEP_DEBUG"):
            raise
        print(
            f"gradstep: internal error: {type(error).__name__}: {error} "
            "(please report it; GRADSTEP_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
