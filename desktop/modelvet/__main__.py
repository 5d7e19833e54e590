"""`python -m modelvet` runs the command line."""

import sys

if sys.argv[1:2] == ["--smoke-child"]:  # a frozen build starts its smoke-test child this way
    from modelvet.engine.smoke.child import main as child_main

    raise SystemExit(child_main())
if sys.argv[1:2] == ["--template-sandbox"]:  # …and its chat-template sandbox the same way
    from modelvet.engine.template_sandbox import main as sandbox_main

    raise SystemExit(sandbox_main())

from modelvet.cli import main

raise SystemExit(main())
