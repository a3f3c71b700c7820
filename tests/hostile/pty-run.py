#!/usr/bin/env python3
"""pty-run.py - run a command on a pseudo-terminal and write every byte it
sends to the terminal, raw, to stdout (for tests of what reaches a
terminal; tmux would obey the escape sequences instead of showing them).

    pty-run.py [--cols N] [--expect REGEX --send TEXT]... -- CMD [ARG...]

Each --expect waits (20 s at most) until the output since the previous
match contains REGEX (bytes, Python syntax), then --send writes TEXT
(backslash escapes such as \\r and \\x04 understood) to the terminal.
After the last pair the output is read until the command ends.  Exits
with the command's status (128+N for signal N), 124 when an --expect
timed out.
"""
import os
import pty
import re
import select
import struct
import sys
import termios
import fcntl
import time


def main(argv):
    cols, steps = 80, []
    i = 1
    while i < len(argv) and argv[i] != "--":
        if argv[i] == "--cols":
            cols = int(argv[i + 1])
        elif argv[i] == "--expect":
            steps.append([argv[i + 1].encode(), None])
        elif argv[i] == "--send":
            steps[-1][1] = argv[i + 1].encode().decode("unicode_escape").encode("latin-1")
        else:
            sys.exit("pty-run.py: unknown option " + argv[i])
        i += 2
    cmd = argv[i + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
    out, seen, status = bytearray(), 0, None

    def read_some(timeout):
        r, _, _ = select.select([fd], [], [], timeout)
        if not r:
            return None
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if not data:
            return False
        out.extend(data)
        return True

    for regex, text in steps:
        deadline = time.monotonic() + 20
        while True:
            m = re.search(regex, bytes(out[seen:]))
            if m:
                seen += m.end()
                break
            if time.monotonic() > deadline or read_some(0.1) is False:
                sys.stdout.buffer.write(out)
                sys.exit(124)
        if text is not None:
            os.write(fd, text)
    while read_some(30):
        pass  # ends at EOF; a command silent for 30 s is killed below
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass
    _, status = os.waitpid(pid, 0)
    sys.stdout.buffer.write(out)
    if os.WIFSIGNALED(status):
        sys.exit(128 + os.WTERMSIG(status))
    sys.exit(os.WEXITSTATUS(status))


if __name__ == "__main__":
    main(sys.argv)
