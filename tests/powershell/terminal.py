"""Runs a command in a pseudo-terminal of 120x40 and answers as a terminal emulator would.

PowerShell asks the terminal where the cursor is (ESC [ 6 n) before it draws progress, and waits
for the answer; util-linux `script` passes the question on to nobody. This answers every query
(the cursor is reported on the first column of the last line it could be), prints everything
the command wrote, and exits with the command's exit code.
usage: python3 terminal.py COMMAND [ARG...]
"""
import os
import pty
import select
import struct
import sys
import fcntl
import termios

QUERY = b"\x1b[6n"


def main():
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(sys.argv[1], sys.argv[1:])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    screen = bytearray()
    pending = b""
    while True:
        try:
            ready, _, _ = select.select([fd], [], [], 1.0)
        except InterruptedError:
            continue
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        screen.extend(chunk)
        pending = (pending + chunk)[-len(QUERY) - 64:]
        while QUERY in pending:
            pending = pending.replace(QUERY, b"", 1)
            os.write(fd, b"\x1b[40;1R")
    _, status = os.waitpid(pid, 0)
    sys.stdout.buffer.write(bytes(screen))
    sys.stdout.flush()
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
