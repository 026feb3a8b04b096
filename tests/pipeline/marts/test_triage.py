"""Signal triage on a real warehouse: decisions made from the command line survive reruns, an
accepted signal is tracked as a benefit on the next run, a rejected one stays rejected until it
changes materially, and observed benefits reach the site's mart."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from pipeline.marts import triage
from pipeline.marts.realise import realise
from tests.benefits.synthetic import START, build_measure_monthly, months_from
from tests.benefits.test_realise import N_MONTHS, N_SITES, SERIES_TYPES, load

MONTHS = months_from(START, N_MONTHS)


def step(frame: pd.DataFrame, site: str, measure: str, at: int, factor: float) -> pd.DataFrame:
    frame = frame.copy()
    hit = (frame["site_code"] == site) & (frame["measure_code"] == measure) & (frame["month"] >= MONTHS[at])
    frame.loc[hit, ["numerator", "value"]] *= factor
    return frame


@pytest.fixture
def cli(home, monkeypatch):
    from pipeline.cli import _register, app

    _register()

    def run(url: str, *args: str):
        monkeypatch.setenv("BENEFITS_WAREHOUSE_URL", url)  # restored after the test
        return CliRunner().invoke(app, [*args, "--warehouse", url])

    return run


def test_triage_survives_reruns_and_an_accepted_signal_is_tracked(tmp_path, cli):
    # Readmissions halve at S002 from month 20 and S004's delayed doses fall 25% from month 24: two
    # signals the scan finds (the synthetic sites have no other change no benefit covers).
    frame = step(build_measure_monthly(N_SITES, N_MONTHS, scale=0.03), "S002", "emergency_readmission_30d_rate", 20, 0.5)
    frame = step(frame, "S004", "delayed_critical_doses_rate", 24, 0.75)
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    wh, sites = load(url, frame)
    first = realise(wh, sites, suppression_threshold=7)
    assert first.new_signals == 2
    found = triage.read(wh).set_index("site_code")
    assert found["state"].tolist() == ["new", "new"] and found["detected"].all()
    good, other = found.loc["S002", "signal_id"], found.loc["S004", "signal_id"]

    out = cli(url, "signals", "accept", good, "--as", "benefit", "--note", "discharge hub", "--by", "QI lead")
    assert out.exit_code == 0, out.output
    entry = yaml.safe_load(out.output[out.output.index("- id:"):])[0]
    assert entry["id"] == good and entry["kind"] == "unanticipated_benefit" and entry["owner"] == "QI lead"
    wrong = cli(url, "signals", "accept", other, "--as", "disbenefit", "--note", "x")
    assert wrong.exit_code == 1 and "is a change for the better" in wrong.output and "Traceback" not in wrong.output
    out = cli(url, "signals", "reject", other, "--reason", "seasonal", "--note", "winter pattern", "--by", "QI lead")
    assert out.exit_code == 0, out.output
    listed = cli(url, "signals", "list", "--state", "rejected")
    assert other in listed.output and good not in listed.output and "seasonal: winter pattern" in listed.output

    second = realise(wh, sites, suppression_threshold=7)
    kept = triage.read(wh).set_index("signal_id")
    assert kept.loc[other, "state"] == "rejected" and kept.loc[other, "detected"]
    assert kept.loc[good, "state"] == "accepted_benefit" and not kept.loc[good, "detected"]  # its months are covered now
    assert second.new_signals == 0 and second.benefits == first.benefits + 1
    tracked = wh.query(f"select * from local_s002.fact_benefit where benefit_id = '{good}' and is_latest")
    assert tracked["kind"].tolist() == ["unanticipated_benefit"]
    assert tracked["measure_code"].tolist() == ["emergency_readmission_30d_rate"]
    assert tracked["effect_evidence"].tolist() == ["better"]  # the halving, now evaluated by the ITS
    changes = wh.scalar("select changes from meta.register_version where site_code = 'S002' order by recorded_at desc limit 1")
    assert changes == f"{good}: added"
    assert set(wh.query("select signal_id from local_s004.signal_triage")["signal_id"]) == {other}

    # S004's change grows (a 30% fall from month 11 on top): material, so the rejection is reopened.
    with wh.begin() as conn:
        grown = step(frame, "S004", "delayed_critical_doses_rate", 11, 0.7)
        wh.replace_table(conn, "measures.measure_monthly", grown, SERIES_TYPES)
    realise(wh, sites, suppression_threshold=7)
    s004 = triage.read(wh, "S004")
    reopened = s004[s004["state"] == "new"]
    assert len(reopened) == 1 and "rejected (seasonal) by QI lead" in reopened["previous_decision"].iloc[0]
    events = wh.query("select event, detail from meta.signal_triage_history where site_code = 'S004' order by event_at")
    assert events["event"].tolist()[:2] == ["detected", "rejected"] and "reopened" in events["detail"].iloc[-1]
    wh.dispose()


def test_an_observed_benefit_reaches_the_sites_mart(tmp_path, cli):
    wh, sites = load(f"duckdb:///{tmp_path / 'wh.duckdb'}", build_measure_monthly(2, 30, scale=0.03))
    folder = tmp_path / "sites"
    folder.mkdir()
    for s in sites:
        (folder / f"{s.ods_code}.yaml").write_text(yaml.safe_dump(s.model_dump(mode="json", exclude_none=True)))
    url = str(wh.url)
    wh.dispose()
    args = ("observed", "add", "--site", "s001", "--kind", "benefit", "--title", "Calmer drug rounds",
            "--narrative", "Nurses report fewer interruptions on drug rounds since ePMA", "--from", "2018-02",
            "--who-gains", "ward nurses", "--who-bears-cost", "pharmacy (set-up time)", "--sites", str(folder))  # fmt: skip
    out = cli(url, *args)
    assert out.exit_code == 0 and "S001: recorded observed benefit OBS-1" in out.output, out.output
    assert cli(url, *args).exit_code == 0
    bad = cli(url, *args[:-2], "--from", "2018-13")
    assert bad.exit_code == 2 and "--from: expected a month as YYYY-MM" in bad.output
    from pipeline.warehouse.core import Warehouse

    wh = Warehouse(url)
    rows = wh.query("select * from local_s001.observed_benefit order by observation_id")
    assert rows["observation_id"].tolist() == ["OBS-1", "OBS-2"] and rows["who_gains"].iloc[0] == "ward nurses"
    assert rows["observed_from"].iloc[0] == dt.date(2018, 2, 1)
    wh.dispose()


@pytest.mark.postgres
def test_triage_state_is_kept_on_postgres(pg_url):
    from tests.benefits.test_triage import scan_row

    wh, sites = load(pg_url, build_measure_monthly(1, 24, scale=0.03))
    signal = pd.DataFrame([{**scan_row(), "site_code": "S001"}])
    schemas = {"S001": sites[0].schema}
    assert triage.sync(wh, signal, ["S001"], schemas) == 1
    sid = triage.read(wh)["signal_id"].iloc[0]
    triage.record_decision(wh, sid, "rejected", "a coding change", "me", "data_artefact")
    assert triage.sync(wh, signal, ["S001"], schemas) == 0
    row = wh.query("select state, reason, detected from local_s001.signal_triage").iloc[0]
    assert (row["state"], row["reason"], bool(row["detected"])) == ("rejected", "data_artefact", True)
    assert list(triage.history(wh, sid)["event"]) == ["detected", "rejected"]
    wh.dispose()
