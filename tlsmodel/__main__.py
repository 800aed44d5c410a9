"""``python -m tlsmodel`` is the same as the ``tlsmodel`` console command."""

from tlsmodel.cli import main

raise SystemExit(main())
