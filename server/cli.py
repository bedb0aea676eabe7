"""The ``hyflex`` command: ``serve``, ``demo`` and ``migrate``."""

from __future__ import annotations

import argparse
import asyncio
import sys
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
    from server.api.routes.sessions import make_join_link
    from server.app import create_app
    from server.demo import DEMO_PASSWORD, seed_demo

    _migrate(settings)
    app = create_app(settings)
    svc = app.state.services

    async def run() -> None:
        demo = await seed_demo(svc.sessions)
        await svc.engine.dispose()
        base = settings.base_url
        live = demo.session
        assert live.id is not None
        print(f"Demo consortium ready ({demo.created} records created, the rest already there).")
        print(f"Server: {base}   API docs: {base}/docs")
        print(f"Live session {live.id}: {live.title!r} ({live.status.value})")
        print(f"\nStaff sign in at {base}/ with password {DEMO_PASSWORD!r}:")
        print(f"  admin        {demo.admin.email}")
        print(f"  teacher      {demo.teacher.email}")
        for fac in demo.facilitators:
            print(f"  facilitator  {fac.email}")
        site_names = {site.id: site.name for site in demo.sites}
        print("\nStudent join links (signed, expiring, one per student and session):")
        shown = (
            demo.students if args.all_links else demo.students[:: max(1, len(demo.students) // 6)]
        )
        for student in shown:
            link = make_join_link(
                svc, live_id=live.id, student=student, site_id=student.home_site_id
            )
            where = site_names.get(student.home_site_id, "at home")
            print(f"  {student.display_name:<9} {where:<32} {link.url}")
        if not args.all_links:
            print(f"  ... {len(demo.students) - len(shown)} more: 'hyflex demo --all-links'")

    asyncio.run(run())
    return 0


def cmd_purge(settings: Settings, _: argparse.Namespace) -> int:
    from server.realtime.engagement_timeline import run_purge

    _migrate(settings)
    deleted = run_purge(settings)
    days = settings.engagement.timeline_retention_days
    print(f"purged {deleted} engagement timeline entries older than {days} days")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from server.app import create_app

    if not args.no_migrate:
        _migrate(settings)
    app = create_app(settings)
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    print(
        f"HyFlex Live on http://{host}:{port}  (database: {settings.resolved_database_url}, "
        f"bus: {'redis' if settings.redis_url else 'in-process'})",
        flush=True,
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=args.log_level,
        ws_max_size=settings.ws_frame_limit,
        ws_ping_interval=settings.ws_heartbeat_seconds,
        ws_ping_timeout=settings.ws_heartbeat_seconds,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hyflex", description="HyFlex Live classroom service")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--no-migrate", action="store_true", help="skip schema migrations")
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(func=cmd_serve)
    demo = sub.add_parser("demo", help="create the demo consortium (idempotent), print links")
    demo.add_argument("--all-links", action="store_true", help="print every student's link")
    demo.set_defaults(func=cmd_demo)
    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(func=cmd_migrate)
    purge = sub.add_parser(
        "purge", help="delete engagement timeline entries past the retention (run daily)"
    )
    purge.set_defaults(func=cmd_purge)
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
    code: int = args.func(settings, args)
    return code


if __name__ == "__main__":
    sys.exit(main())
