"""``python cli.py ...`` does what ``biobench ...`` does, without installing the script."""

from biobench.commands import main

if __name__ == "__main__":
    main()
