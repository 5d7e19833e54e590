"""`python -m modelvet` runs the command line."""

from modelvet.cli import main

raise SystemExit(main())
