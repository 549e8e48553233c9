"""Entry point: `python run_bot.py [command]`. All work happens in bot.faces.cli."""

import sys

from bot.faces.cli import main

if __name__ == "__main__":
    sys.exit(main())
