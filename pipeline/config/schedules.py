"""The per-site schedules of deploy/prefect.yaml, written from deploy/sites/ by `benefits docs`.

Prefect's deployment file has no loops or includes, so the lines that name a site are generated
between marker comments and the rest of the file is left as written. A site sets its extract's
start with `extract_at: "HH:MM"` (Europe/London), and with `work_queue:` runs on a worker of its
own (a deployment of its own, as a schedule cannot name a queue). The others start at one of
twelve times ten minutes apart from 00:00 to 01:50, chosen by their ODS code (so a new site never
moves another), and every extract starts before the marts build at 02:00.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pipeline.config.generated import fill_blocks
from pipeline.config.settings import PROJECT_ROOT
from pipeline.config.sites import SiteConfig, load_sites

PREFECT_YAML = PROJECT_ROOT / "deploy" / "prefect.yaml"
SITES_DIR = PROJECT_ROOT / "deploy" / "sites"


def _site_daily(site: SiteConfig, at: tuple[int, int]) -> str:
    return (f'- {{<<: *site_daily, cron: "{at[1]} {at[0]} * * *", slug: site-daily-{site.ods_code.lower()}, '
            f"parameters: {{site: {site.ods_code}}}}}\n")


def _own_queue(site: SiteConfig, at: tuple[int, int]) -> str:
    # a schedule cannot name a work queue, so a site whose worker sits at the trust gets a deployment
    return (f"- name: site-daily-{site.ods_code.lower()}\n"
            f"  description: {site.ods_code}'s extracts, run by the worker on its own queue ({site.work_queue}).\n"
            f"  entrypoint: flows/ingest_site.py:ingest_site\n"
            f"  tags: *tags\n"
            f"  work_pool: {{<<: *process_pool, work_queue_name: {site.work_queue}}}\n"
            f"  parameters: {{prepare: true}}\n"
            f"  schedules:\n"
            f"    - {_site_daily(site, at)[2:]}")


def _submit(site: SiteConfig, at: tuple[int, int]) -> str:
    return f"- {{<<: *second_working_day, slug: submit-monthly-{site.ods_code.lower()}, parameters: {{site: {site.ods_code}}}}}\n"


# block name -> (which sites it holds, the text for one site)
BLOCKS = {
    "site-daily": (lambda s: not s.work_queue, _site_daily),
    "site-queue": (lambda s: bool(s.work_queue), _own_queue),
    "submit-monthly": (lambda s: s.role == "trust", _submit),  # a publisher has no national return
}


def extract_times(sites: list[SiteConfig]) -> dict[str, tuple[int, int]]:
    """ODS code -> (hour, minute) its daily extract starts."""
    return {s.ods_code: tuple(map(int, s.extract_at.split(":"))) if s.extract_at else _slot(s.ods_code) for s in sites}


def _slot(ods_code: str) -> tuple[int, int]:
    # from the code alone, so a site that joins never moves another site's time
    return divmod(int(hashlib.sha256(ods_code.encode()).hexdigest(), 16) % 12 * 10, 60)


def render(text: str, sites: list[SiteConfig], source: str = "deploy/prefect.yaml") -> str:
    """`text` with each marked block's lines written for `sites`."""
    times = extract_times(sites)
    ordered = sorted(sites, key=lambda s: s.ods_code)

    def body(holds, line):
        return lambda: "".join(line(s, times[s.ods_code]) for s in ordered if holds(s))

    return fill_blocks(text, {name: body(*spec) for name, spec in BLOCKS.items()}, source)


def generate(path: Path = PREFECT_YAML, sites_dir: Path = SITES_DIR) -> str:
    return render(path.read_text(encoding="utf-8"), load_sites(sites_dir), str(path))
