"""Errors meant for the person at the terminal: printed without a traceback, exit code 2."""


class UserError(Exception):
    """Bad input (file, option, state of a campaign) described in words the user can act on."""
