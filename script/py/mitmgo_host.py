# Entry point of mitmgo's Python script host. mitmgo runs
#   python3 -u mitmgo_host.py
# with the protocol on file descriptors 3 (in) and 4 (out). Keep this file
# parseable by old interpreters so that they get a clear message.
import sys

if sys.version_info < (3, 8):
    sys.stderr.write(
        "mitmgo scripts need Python 3.8 or newer; %s is Python %d.%d\n"
        % (sys.executable, sys.version_info[0], sys.version_info[1])
    )
    sys.exit(3)

from mitmproxy._mitmgo import host  # noqa: E402

host.main()
