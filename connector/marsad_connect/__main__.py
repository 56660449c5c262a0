"""``python -m marsad_connect`` is the same as the ``marsad-connect`` command."""

from marsad_connect.cli import main

raise SystemExit(main())
