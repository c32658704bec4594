"""``python -m citytwin`` — how the supervisor starts citytwin's own children."""

from citytwin.cli import main

main()
