"""``python -m accountant.cli``: the ``dp-accountant`` command (as ``python -m accountant``)."""
from . import main

raise SystemExit(main())
