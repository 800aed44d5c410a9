"""Errors that the command line turns into one line on stderr and exit code 2.

Why a shared module: every subcommand (the checker, the oracle, the reference client/server)
reports bad input the same way, and none of them may print a traceback at the user.
"""


class UsageError(Exception):
    """Bad input from the user: a malformed file, an unknown name, a missing tool.

    The message is printed as one line (``tlsmodel: <message>``) and the process exits with 2.
    """

    exit_code = 2
