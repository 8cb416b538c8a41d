"""``python -m tuneplug``: the same as the ``tuneplug`` command."""

from tuneplug.cli import main

if __name__ == "__main__":
    main()
