"""Where a recording's lines go: the gzip file itself, here or in a writer process of its own.

`GzipLines` is the file layer of a .gstep (tui.steps.recording describes the layout): it turns
records into JSON lines, compresses them, and keeps the block index and each block's output.
`RecordingWriter` (tui.steps.recording) decides what the records are and when a block starts;
it hands them to a `GzipLines` in its own process, or to a `ChildLines`, which sends them to a
writer process running a `GzipLines` on the other side of a pipe. `gradstep record` uses the
child: encoding JSON and compressing it is a fifth to a third of recording a training loop, and
in the child it runs on another core while the script goes on. The file is the same either way.

The pipe carries length-prefixed `marshal` frames of (kind, payload) tuples: the records are
plain dicts, lists, strings and numbers, which marshal copies far faster than JSON encodes them
(a float is 9 bytes, not 20 digits of repr). Only our own two processes speak it, over a private
pipe; nothing on the pipe or in the file is ever executed, and the file stays JSON lines.
The child answers once and exits: "K" when the file is written, "E" with errno and reason as soon as
a write fails (the recorder reads it when it next sends, or at the end).
"""

from __future__ import annotations

import gzip
import marshal
import os
import select
import signal
import subprocess
import sys
import zlib
from pathlib import Path
from typing import IO, Any

from tui.steps.lines import dumps

_FOOTER = '{"t":"footer","index":%20d}\n'  # padded with spaces: a fixed size
FOOTER_SIZE = len(gzip.compress((_FOOTER % 0).encode(), compresslevel=0, mtime=0))
# zlib level 4: on the benchmark scripts' recordings, half the time of level 6 for 3-7% more bytes.
LEVEL = 4
# Lines reach zlib in chunks of this size: one deflate call per chunk, not per line (a line is ~0.1-10 KB).
WRITE_CHUNK = 1 << 16
# Frames reach the pipe in chunks of this size (or at a flush); the pipe is asked to hold 1 MiB.
_SEND_CHUNK = 1 << 16
_PIPE_SIZE = 1 << 20
# A marshalled record is 1/2 to 2/3 of its JSON line (floats are 9 bytes, not ~20 characters; on the
# benchmark scripts 1.6 to 2.0 times smaller): the writer counts a frame's bytes 1.5 times toward a
# block's size, so blocks stay near their size in lines (counted twice, the Transformer's file had a
# block more than in-process, and 7% more bytes).
FRAME_TO_LINE = 1.5

_RECORD, _LINE, _BLOCK, _OUTPUT, _FLUSH, _FINISH = range(6)


class GzipLines:
    """The gzip member of steps plus the index and footer, written to `raw` (which it owns)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._file = gzip.GzipFile(filename="", mode="wb", compresslevel=LEVEL, fileobj=raw, mtime=0)
        self.blocks: list[list[int]] = []
        self._outputs: list[str] = []
        self._block_output: list[str] = []
        self._pending: list[bytes] = []  # lines not handed to zlib yet (see WRITE_CHUNK)
        self._pending_bytes = 0

    def write(self, record: dict[str, Any]) -> int:
        """One record as a line; its size in bytes."""
        return self.write_line(dumps(record))

    def write_line(self, line: str) -> int:
        data = line.encode() + b"\n"
        self._pending.append(data)
        self._pending_bytes += len(data)
        if self._pending_bytes >= WRITE_CHUNK:
            self._drain()
        return len(data)

    def _drain(self) -> None:
        """Hand the pending lines to zlib (before any flush: a flush writes only what zlib was given)."""
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending, self._pending_bytes = [], 0
        self._file.write(data)

    def block(self, step: int) -> None:
        """A block starts with step `step`: a full-flush point, its offset in the index, its marker line."""
        if self.blocks:
            self._outputs.append("".join(self._block_output))
            self._block_output = []
        self._drain()
        self._file.flush(zlib.Z_FULL_FLUSH)
        self.blocks.append([step, self._raw.tell()])
        self.write({"t": "block", "step": step})

    def output(self, text: str) -> None:
        """What the script printed at the step just written (the index keeps it per block)."""
        self._block_output.append(text)

    def flush(self) -> None:
        """Everything written so far reaches the file (a zlib sync flush)."""
        self._drain()
        self._file.flush()

    def finish(self, steps: int) -> None:
        """Close the steps' member, then write the index and the footer, and close the file."""
        self._drain()
        if self.blocks:
            self._outputs.append("".join(self._block_output))
        self._file.close()
        index_at = self._raw.tell()
        index = {"t": "index", "steps": steps, "blocks": self.blocks, "output": self._outputs}
        self._raw.write(gzip.compress(dumps(index).encode() + b"\n", compresslevel=LEVEL, mtime=0))
        self._raw.write(gzip.compress((_FOOTER % index_at).encode(), compresslevel=0, mtime=0))
        self._raw.close()

    def abandon(self) -> None:
        """A write failed: close what is open, quietly."""
        self._pending, self._pending_bytes = [], 0
        close_quietly(self._file, self._raw)


class ChildLines:
    """The same operations as GzipLines, carried out by a writer process on the file `raw`.

    Raises OSError (from `write`, `flush` or `finish`) when the child says a write failed or
    when it is gone; `start` raises OSError when no child can be started (write in-process then).
    """

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process
        assert process.stdin is not None and process.stdout is not None
        self._to = process.stdin.fileno()
        self._from = process.stdout.fileno()
        self._buffer = bytearray()

    @classmethod
    def start(cls, raw: IO[bytes]) -> ChildLines:
        """A writer process that owns `raw` from now on (this process closes its copy)."""
        if not sys.executable:
            raise OSError("no Python executable to start a writer with")
        # This package first on the child's path (not the directory the script runs in, which may
        # have a `tui` of its own); -E -s: the child needs the standard library and this package only.
        root = str(Path(__file__).resolve().parents[2])
        code = f"import sys; sys.path.insert(0, {root!r}); from tui.steps.sink import child_main; child_main({raw.fileno()})"
        process = subprocess.Popen(
            [sys.executable, "-E", "-s", "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # the child reports on its stdout; nothing of it reaches the terminal
            pass_fds=(raw.fileno(),),
            # Its own session: a ^C or a hang-up on the terminal reaches `record`, which ends the
            # recording, not the writer, which must finish writing it.
            start_new_session=True,
        )
        raw.close()
        lines = cls(process)
        _widen(lines._to)
        return lines

    def _frame(self, data: bytes) -> int:
        self._buffer += len(data).to_bytes(4, "little")
        self._buffer += data
        if len(self._buffer) >= _SEND_CHUNK:
            self._send()
        return int(len(data) * FRAME_TO_LINE)

    def _send(self) -> None:
        self._check()
        view = memoryview(self._buffer)
        try:
            while view:
                view = view[os.write(self._to, view) :]
        except OSError:
            self._check(wait=True)
            raise OSError("the recording's writer process stopped") from None
        finally:
            view.release()
        self._buffer.clear()

    def _check(self, wait: bool = False) -> None:
        """Raise the child's error if it reported one (`wait`: read until it closes its end)."""
        if not wait and not select.select([self._from], [], [], 0)[0]:
            return
        answer = _read_all(self._from)
        if answer.startswith(b"E"):
            self._process.wait()
            errno, _, reason = answer[1:].decode(errors="replace").partition(" ")
            raise OSError(int(errno) if errno.isdigit() else 0, reason)
        if wait and answer != b"K":
            self._process.wait()
            raise OSError("the recording's writer process stopped")

    def write(self, record: dict[str, Any]) -> int:
        try:
            return self._frame(marshal.dumps((_RECORD, record)))
        except ValueError:  # a str or float subclass (torch's version string): send the JSON line it makes
            return self._frame(marshal.dumps((_LINE, dumps(record))))

    def block(self, step: int) -> None:
        self._frame(marshal.dumps((_BLOCK, int(step))))

    def output(self, text: str) -> None:
        self._frame(marshal.dumps((_OUTPUT, str(text))))

    def flush(self) -> None:
        self._frame(marshal.dumps((_FLUSH, None)))
        self._send()

    def finish(self, steps: int) -> None:
        self._frame(marshal.dumps((_FINISH, int(steps))))
        self._send()
        close_quietly(self._process.stdin)
        try:
            self._check(wait=True)
        finally:
            self._process.wait()

    def abandon(self) -> None:
        self._buffer.clear()
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        close_quietly(self._process.stdin, self._process.stdout)


def close_quietly(*handles: IO[bytes] | gzip.GzipFile | None) -> None:
    """Close each handle; one that fails to close (a last flush on a full disk) is closed anyway."""
    for handle in handles:
        try:
            if handle is not None:
                handle.close()
        except OSError:
            pass


def _widen(fd: int) -> None:
    """Ask for a bigger pipe (Linux), so a slow moment of the writer does not stop the script."""
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), _PIPE_SIZE)
    except (ImportError, OSError):
        pass


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 4096):
        chunks.append(chunk)
    return b"".join(chunks)


def child_main(fd: int) -> None:
    """The writer process: frames in on stdin, the file on `fd`, one answer on stdout."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a file size limit is an error to report, not death
    source = sys.stdin.buffer
    lines: GzipLines | None = None
    try:
        lines = GzipLines(os.fdopen(fd, "wb"))
        answer = _serve(source, lines)
    except OSError as error:
        if lines is not None:
            lines.abandon()
        answer = f"E{error.errno or 0} {error.strerror or error}"
    except BaseException as error:  # noqa: BLE001 - anything else: one line for the recorder, never a traceback
        answer = f"E0 the writer process failed ({type(error).__name__}: {error})"
    # Answer and go: a recorder still sending then finds the pipe closed and reads this.
    os.write(sys.stdout.fileno(), answer.encode())


def _serve(source: IO[bytes], lines: GzipLines) -> str:
    while True:
        head = source.read(4)
        size = int.from_bytes(head, "little")
        frame = source.read(size) if len(head) == 4 else b""
        if len(frame) < size or not frame:  # the recorder is gone (killed): keep what came, as a cut file
            lines.flush()
            return ""
        kind, payload = marshal.loads(frame)
        if kind == _RECORD:
            lines.write(payload)
        elif kind == _LINE:
            lines.write_line(payload)
        elif kind == _BLOCK:
            lines.block(payload)
        elif kind == _OUTPUT:
            lines.output(payload)
        elif kind == _FLUSH:
            lines.flush()
        elif kind == _FINISH:
            lines.finish(payload)
            return "K"
