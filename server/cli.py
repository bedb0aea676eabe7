"""The ``hyflex`` command: ``serve``, ``demo``, ``migrate``, ``create-admin`` and ``purge``."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
import time
from collections.abc import Sequence

from server.domain.errors import DomainError
from server.settings import InsecureSettings, Settings


def _migrate(settings: Settings) -> None:
    from server.db.migrate import upgrade

    upgrade(settings.resolved_database_url)


def cmd_migrate(settings: Settings, _: argparse.Namespace) -> int:
    _migrate(settings)
    print(f"database at {settings.resolved_database_url} is up to date")
    return 0


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    """Create the demo (idempotent) and print its sign-ins and links, for the server running
    from the same data folder when there is one (its address, checked against its secret and
    database), else for the address the settings give."""
    from server import serve_record

    running = serve_record.find(settings)
    if running is None:
        base = settings.base_url
        where = f"{base}  (not running: start it with '.venv/bin/hyflex serve')"
    else:
        mine = serve_record.describe(settings, running.url)
        for what, theirs, ours, variable in (
            ("secret", running.secret, mine.secret, "HYFLEX_SECRET_KEY"),
            ("database", running.database, mine.database, "HYFLEX_DATABASE_URL"),
        ):
            if theirs != ours:
                print(
                    f"hyflex: the server running from {settings.data_dir} (pid {running.pid}) "
                    f"uses another {what}: set {variable} as you did for it",
                    file=sys.stderr,
                )
                return 2
        base = running.url
        where = f"{base}  (running, pid {running.pid})"
    print_demo(settings.model_copy(update={"public_url": base}), where, all_links=args.all_links)
    return 0


def print_demo(settings: Settings, where: str, *, all_links: bool) -> None:
    """Seed the demo and print what was done, the sign-ins and students' links, all for
    ``settings.base_url``."""
    from server.app import create_app
    from server.demo import DEMO_PASSWORD, seed_demo
    from server.services.join_links import make_join_link

    _migrate(settings)
    app = create_app(settings)
    svc = app.state.services

    async def run() -> None:
        demo = await seed_demo(svc.sessions)
        await svc.engine.dispose()
        base = settings.base_url
        live = demo.session
        assert live.id is not None
        print(f"Demo consortium {demo.summary()}.")
        print(f"Data folder: {settings.data_dir}")
        print(f"Server: {where}   API docs: {base}/docs")
        since = "live"
        if live.started_at is not None:
            since += f" since {live.started_at:%Y-%m-%d %H:%M:%S} UTC"
        if demo.ended_before is not None:
            since += f"; a fresh lesson: lesson {demo.ended_before.id} had ended"
        else:
            since += "; once it has ended, run '.venv/bin/hyflex demo' again for a fresh one"
        print(f"Live lesson {live.id}: {live.title!r}, {since}")
        print(f"\nStaff sign in at {base}/ with password {DEMO_PASSWORD!r}:")
        print(f"  admin        {demo.admin.email}")
        print(f"  teacher      {demo.teacher.email}")
        for fac in demo.facilitators:
            print(f"  facilitator  {fac.email}")
        site_names = {site.id: site.name for site in demo.sites}
        print("\nStudent join links (signed, expiring, one per student and lesson):")
        shown = demo.students if all_links else demo.students[:: max(1, len(demo.students) // 6)]
        for student in shown:
            link = make_join_link(
                settings,
                svc.signer,
                live=live,
                student=student,
                site_id=student.home_site_id,
                now=time.time(),
            )
            where_from = site_names.get(student.home_site_id, "at home")
            print(f"  {student.display_name:<9} {where_from:<32} {link.url}")
        if not all_links:
            print(
                f"  ... {len(demo.students) - len(shown)} more: '.venv/bin/hyflex demo --all-links'"
            )

    asyncio.run(run())


def cmd_purge(settings: Settings, _: argparse.Namespace) -> int:
    from server.realtime.engagement.timeline import run_purge
    from server.realtime.media.recording import purge_recordings

    _migrate(settings)
    deleted = run_purge(settings)
    days = settings.engagement.timeline_retention_days
    print(f"purged {deleted} engagement timeline entries older than {days} days")
    keep = settings.recording_retention_days
    files = purge_recordings(settings.data_dir, time.time(), keep)
    if keep:
        print(f"purged {len(files)} lesson recording files older than {keep} days")
    else:
        print("lesson recordings are kept (HYFLEX_RECORDING_RETENTION_DAYS=0)")
    return 0


def cmd_xapi_sync(settings: Settings, args: argparse.Namespace) -> int:
    from server.services.xapi_sync import run_sync

    if not settings.lrs_url:
        print("hyflex: HYFLEX_LRS_URL is not set (see docs/xapi.md)", file=sys.stderr)
        return 2
    _migrate(settings)
    return asyncio.run(run_sync(settings, args.session))


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from server import serve_record
    from server.app import create_app

    # One address for everything: where uvicorn listens, the links the API and the demo
    # hand out, and the record ``hyflex demo`` reads while this server runs.
    settings = settings.model_copy(
        update={
            "host": args.host or settings.host,
            "port": args.port if args.port is not None else settings.port,
        }
    )
    if args.workers != 1:
        from server.workers import why_not

        problem = why_not(settings, args.workers)
        if problem is not None:
            print(f"hyflex: {problem}", file=sys.stderr)
            return 2
    if not args.no_migrate:
        _migrate(settings)
    if args.demo:
        print_demo(settings, settings.base_url, all_links=False)
    if args.workers != 1:
        from server.workers import run_workers

        return run_workers(settings, args.workers, args.log_level)
    app = create_app(settings)
    print(
        f"HyFlex Live on http://{settings.host}:{settings.port}  (data folder: "
        f"{settings.data_dir}, database: {settings.resolved_database_url}, "
        f"bus: {'redis' if settings.redis_url else 'in-process'})",
        flush=True,
    )
    record = serve_record.describe(settings, settings.base_url)

    async def announce() -> None:
        serve_record.write(settings, record)

    async def forget() -> None:  # in the shutdown: uvicorn re-raises SIGTERM after it
        serve_record.remove(settings, record)

    app.state.startup_hooks.append(announce)
    app.state.shutdown_hooks.append(forget)
    try:
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_level=args.log_level,
            ws_max_size=settings.ws_frame_limit,
            ws_ping_interval=settings.ws_heartbeat_seconds,
            ws_ping_timeout=settings.ws_heartbeat_seconds,
        )
    finally:
        serve_record.remove(settings, record)
    return 0


def cmd_create_admin(settings: Settings, args: argparse.Namespace) -> int:
    """The consortium's first admin on an empty install (the password from
    ``HYFLEX_ADMIN_PASSWORD``, else asked for twice)."""
    from pydantic import ValidationError

    from server.app import create_app
    from server.services.first_admin import create_first_admin

    password = os.environ.get("HYFLEX_ADMIN_PASSWORD") or getpass.getpass("Password: ")
    if "HYFLEX_ADMIN_PASSWORD" not in os.environ and getpass.getpass("Again: ") != password:
        print("hyflex: the two passwords differ", file=sys.stderr)
        return 2
    _migrate(settings)
    svc = create_app(settings).state.services

    async def run() -> str:
        try:
            return await create_first_admin(
                svc.sessions,
                consortium=args.consortium,
                email=args.email,
                name=args.name,
                password=password,
            )
        finally:
            await svc.engine.dispose()

    try:
        done = asyncio.run(run())
    except ValidationError as exc:
        problems = "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in exc.errors())
        print(f"hyflex: {problems}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"hyflex: {exc.message}", file=sys.stderr)
        return 2
    print(f"{done}: sign in at {settings.base_url}/ and open Administration")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hyflex", description="HyFlex Live classroom service")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--no-migrate", action="store_true", help="skip schema migrations")
    serve.add_argument("--log-level", default="info")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="run N nodes, one process each, on ports PORT..PORT+N-1 (needs HYFLEX_REDIS_URL "
        "and PostgreSQL; list the ports in the front proxy)",
    )
    serve.add_argument(
        "--demo", action="store_true", help="first create the demo (idempotent), print links"
    )
    serve.set_defaults(func=cmd_serve)
    demo = sub.add_parser(
        "demo",
        help="create the demo consortium (idempotent; a fresh live lesson once the last one "
        "has ended) and print links for the server running from the same data folder",
    )
    demo.add_argument("--all-links", action="store_true", help="print every student's link")
    demo.set_defaults(func=cmd_demo)
    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(func=cmd_migrate)
    admin = sub.add_parser(
        "create-admin",
        help="create the consortium (if none yet) and an admin who sets up the rest in the "
        "web pages (password from HYFLEX_ADMIN_PASSWORD, else asked for)",
    )
    admin.add_argument("--email", required=True)
    admin.add_argument("--name", required=True, help="the admin's name as shown to others")
    admin.add_argument("--consortium", default="Consortium", help="its name, when created")
    admin.set_defaults(func=cmd_create_admin)
    purge = sub.add_parser(
        "purge",
        help="delete engagement timeline entries and lesson recordings past their retention "
        "(run daily)",
    )
    purge.set_defaults(func=cmd_purge)
    xapi = sub.add_parser(
        "xapi-sync",
        help="send the xAPI statements of ended lessons that the LRS has not accepted yet",
    )
    xapi.add_argument("--session", type=int, default=None, help="only this lesson")
    xapi.set_defaults(func=cmd_xapi_sync)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
        settings.resolve_secret()
    except InsecureSettings as exc:
        print(f"hyflex: refusing to start: {exc}", file=sys.stderr)
        return 2
    except (ValueError, DomainError) as exc:
        print(f"hyflex: bad settings: {exc}", file=sys.stderr)
        return 2
    try:
        code: int = args.func(settings, args)
        sys.stdout.flush()  # here, not at exit, so a closed pipe is caught below
    except BrokenPipeError:
        # the reader went away ('hyflex demo --all-links | head'): stop quietly, as shell
        # tools do, with nothing left to flush into the closed pipe at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
