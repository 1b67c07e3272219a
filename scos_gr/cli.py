"""The `scos-gr` console script: the operations contract.

    scos-gr serve [--host H] [--port P] [--data-dir D] [--no-scheduler] [--trusted-proxy ADDR]
    scos-gr scheduler [--data-dir D]
    scos-gr createuser NAME [--admin] [--data-dir D]   (the token is stdout's last line)
    scos-gr deleteuser NAME [--data-dir D]
    scos-gr rotatetoken NAME [--data-dir D]            (the new token is stdout's last line)
    scos-gr acquire ACTION [--out DIR] [--radio ARGS]  (one run, no server: a field check)
    scos-gr status [--url URL] [--token T]             (ask a running sensor)
    scos-gr check [--actions FILE]                     (check the catalogue and its flowgraphs)
    scos-gr show ARCHIVE.sigmf [--png FILE]            (what a recording is, offline)

Flags win over the environment (see scos_gr.config). ``serve``, ``scheduler`` and ``acquire``
check the configuration first (the sensor definition, the classification: ``config.check_startup``)
and exit with status 2 and the reason when it is wrong. This is the only module that imports
the web layer.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from scos_gr.config import Settings, check_startup, load_settings, trusted_proxy_address
from scos_gr.errors import ConfigError, ScosGrError

#: exit status of a command refused for its configuration (a bad setting, sensor definition, ...)
EXIT_CONFIG = 2
#: exit status of a command given a malformed argument (as argparse's own usage errors)
EXIT_USAGE = 2


def _settings_from(args: argparse.Namespace) -> Settings:
    settings = load_settings()
    changes = {}
    if getattr(args, "data_dir", None):
        changes["data_dir"] = Path(args.data_dir).resolve()
    if getattr(args, "host", None):
        changes["host"] = args.host
    if getattr(args, "port", None) is not None:
        changes["port"] = args.port
    if getattr(args, "trusted_proxy", None):
        changes["trusted_proxy"] = trusted_proxy_address(args.trusted_proxy, "--trusted-proxy")
    return settings.with_overrides(**changes) if changes else settings


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=getattr(logging, settings.log_level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def cmd_serve(args: argparse.Namespace) -> int:
    from scos_gr.api import server

    settings = _settings_from(args)
    check_startup(settings)  # a ConfigError: main() prints it and exits EXIT_CONFIG
    _configure_logging(settings)
    return server.serve(settings, with_scheduler=not args.no_scheduler)


def cmd_scheduler(args: argparse.Namespace) -> int:
    from scos_gr.scheduler import service

    settings = _settings_from(args)
    check_startup(settings)  # a ConfigError: main() prints it and exits EXIT_CONFIG
    _configure_logging(settings)
    return service.run_forever(settings)


def _open_store(args: argparse.Namespace) -> None:
    from scos_gr import store

    store.init_store(_settings_from(args).database_url)


def cmd_createuser(args: argparse.Namespace) -> int:
    from scos_gr import store, users
    from scos_gr.api.validation import name_errors

    problems = name_errors(args.name)
    if problems:  # a user name is a slug, as an entry name (it is in URLs: /users/{name}/)
        print(f"error: user name {args.name!r}: {' '.join(problems)}", file=sys.stderr)
        return EXIT_USAGE
    _open_store(args)
    with store.database.connection_context():
        _, token = users.create_user(args.name, is_admin=args.admin)
    role = "admin" if args.admin else "user"
    print(f"created {role} {args.name!r}; its token (shown once):")
    print(token)
    return 0


def cmd_deleteuser(args: argparse.Namespace) -> int:
    from scos_gr import store, users

    _open_store(args)
    with store.database.connection_context():
        users.delete_user(args.name, keep_an_admin=False)  # the command line can always make a new admin
    print(f"deleted user {args.name!r}")
    return 0


def cmd_rotatetoken(args: argparse.Namespace) -> int:
    from scos_gr import store, users

    _open_store(args)
    with store.database.connection_context():
        _, token = users.rotate_token(args.name)
    print(f"new token for {args.name!r} (shown once; the old one no longer works):")
    print(token)
    return 0


def cmd_acquire(args: argparse.Namespace) -> int:
    from scos_gr.field import acquire_once

    settings = _settings_from(args)
    if args.radio:
        settings = settings.with_overrides(radio=args.radio)
    check_startup(settings)  # a ConfigError: main() prints it and exits EXIT_CONFIG
    _configure_logging(settings)
    _, summary = acquire_once(args.action, settings, Path(args.out).resolve())
    print(summary)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from scos_gr.flowgraphs.catalogue import catalogue_for

    settings = _settings_from(args)
    if args.actions:
        settings = settings.with_overrides(actions_file=Path(args.actions).resolve())
    catalogue = catalogue_for(settings)
    for name, action in sorted(catalogue.actions.items()):
        print(f"ok       {name}: {action.summary}")
    for problem in catalogue.problems():
        print(f"PROBLEM  {problem}")
    return 1 if catalogue.problems() else 0


def cmd_show(args: argparse.Namespace) -> int:
    from scos_gr.show import show

    print(show(Path(args.archive), Path(args.png) if args.png else None))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    import os

    from scos_gr.field import fetch_status, format_status

    settings = load_settings()
    token = args.token or os.environ.get("SCOS_TOKEN")
    if not token:
        print("error: give --token or set SCOS_TOKEN (see `scos-gr createuser`)", file=sys.stderr)
        return 2
    url = args.url or f"http://{settings.host}:{settings.port}"
    print(format_status(fetch_status(url, token)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scos-gr", description="scos-gr networked RF spectrum sensor")
    sub = parser.add_subparsers(dest="command", required=True)

    def data_dir_flag(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data-dir", help="data directory (default: $SCOS_DATA_DIR or ./data)")

    p = sub.add_parser("serve", help="run the HTTP API (and the scheduler, unless --no-scheduler)")
    p.add_argument("--host", help="bind address (default: $SCOS_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, help="bind port (default: $SCOS_PORT or 8000)")
    data_dir_flag(p)
    p.add_argument("--no-scheduler", action="store_true", help="serve the API only; run `scos-gr scheduler` separately")
    p.add_argument("--trusted-proxy", metavar="ADDR",
                   help="IP address of the reverse proxy whose X-Forwarded-* and client-certificate headers are "
                        "believed (default: $SCOS_TRUSTED_PROXY or none)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("scheduler", help="run the scheduler alone (one per database)")
    data_dir_flag(p)
    p.set_defaults(func=cmd_scheduler)

    p = sub.add_parser("createuser", help="create an API user and print its token on the last line")
    p.add_argument("name")
    p.add_argument("--admin", action="store_true", help="give the user the admin role")
    data_dir_flag(p)
    p.set_defaults(func=cmd_createuser)

    p = sub.add_parser("deleteuser", help="delete an API user who owns no schedule entry")
    p.add_argument("name")
    data_dir_flag(p)
    p.set_defaults(func=cmd_deleteuser)

    p = sub.add_parser("rotatetoken", help="give a user a new token (printed on the last line); the old one stops working")
    p.add_argument("name")
    data_dir_flag(p)
    p.set_defaults(func=cmd_rotatetoken)

    p = sub.add_parser("acquire", help="run one action once, without the server, and summarise it")
    p.add_argument("action", help="an action of the catalogue, e.g. acquire700c")
    p.add_argument("--out", default=".", help="directory for the recording (default: the current one)")
    p.add_argument("--radio", help="radio args (default: $SCOS_RADIO or sim)")
    data_dir_flag(p)
    p.set_defaults(func=cmd_acquire)

    p = sub.add_parser("check", help="check the action catalogue and its flowgraphs; exit 1 if anything is wrong")
    p.add_argument("--actions", help="catalogue file (default: $SCOS_ACTIONS or the shipped one)")
    data_dir_flag(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("status", help="print the status of a running sensor")
    p.add_argument("--url", help="sensor base URL (default: http://$SCOS_HOST:$SCOS_PORT)")
    p.add_argument("--token", help="API token (default: $SCOS_TOKEN)")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("show", help="print what a recording is (and draw it with --png), offline")
    p.add_argument("archive", help="a .sigmf archive (as the API serves it) or a .sigmf-meta file")
    p.add_argument("--png", help="also draw the spectra (or the IQ's spectrogram) into this PNG file")
    p.set_defaults(func=cmd_show)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except ConfigError as exc:  # a setting, the sensor definition...: the sensor cannot run with it
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except ScosGrError as exc:  # every error of ours is a sentence for the operator, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
