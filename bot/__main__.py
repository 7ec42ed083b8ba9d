"""``python -m bot`` is the ``journeybot`` command."""

from bot.cli import main

main()
