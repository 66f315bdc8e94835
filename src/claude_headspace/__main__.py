"""``python -m claude_headspace``: serve on the configured host and port."""

from . import create_app


def main() -> None:
    app = create_app()
    server = app.config["HEADSPACE"]["server"]
    app.run(host=server["host"], port=server["port"], debug=server["debug"])


if __name__ == "__main__":
    main()
