#!/usr/bin/env python
"""Django's manage.py; `marsad` is the same command once the project is installed."""

from config.manage import main

if __name__ == "__main__":
    main()
