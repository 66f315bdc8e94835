"""``python -m claude_headspace``: serve on the configured host and port."""

from . import create_app
from .config import ConfigError


def main() -> None:
    try:
        app = create_app()
    except ConfigError as exc:
        exc.show()  # "Error: <setting>: <what is wrong>", no traceback
        raise SystemExit(exc.exit_code) from None
    server = app.config["HEADSPACE"]["server"]
    app.run(host=server["host"], port=server["port"], debug=server["debug"])


if __name__ == "__main__":
    main()
