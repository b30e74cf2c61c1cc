"""`python -m app.cli`: the `shouwang` command."""

from app.cli import main

if __name__ == "__main__":
    main()
