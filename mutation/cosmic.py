"""Cosmic Ray's command line with our operators (``mutation/operators.py``) registered.

``python -m mutation.cosmic <cosmic-ray arguments>``; ``--filter-operators`` runs
``cr-filter-operators`` instead. Cosmic Ray finds operator providers by entry point;
ours live in this checkout, not in an installed distribution, so they are added to its
table of providers here, in the process that then runs Cosmic Ray (its local
distributor mutates in that process too).
"""

from __future__ import annotations

import sys

from cosmic_ray import plugins

from mutation.operators import Provider

PROVIDER = "deletion"


def main(argv: list[str]) -> int:
    plugins.OPERATOR_PROVIDERS[PROVIDER] = Provider()
    if argv[:1] == ["--filter-operators"]:
        from cosmic_ray.tools.filters.operators_filter import main as filter_main

        return filter_main(argv[1:]) or 0
    from cosmic_ray.cli import main as cosmic_main

    return cosmic_main(argv) or 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
