"""Excursions: a limit broken puts the lot on hold at once, opens a nonconformance with
the evidence and mails the quality engineers (real SMTP); raised once however batches
overlap; cumulative minutes, MKT and humidity; gaps, silent loggers, late shipments
and seal mismatches."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from erp.coldchain import alerts as alerting
from erp.coldchain import service as coldchain
from erp.coldchain import transport
from erp.coldchain.models import ColdChainAlert, LoggerBinding
from erp.coldchain.tasks import delayed_all, silence_all
from erp.inventory.models import Stock, StockMovement
from erp.receiving import service as receiving
from erp.receiving.models import Nonconformance
from erp.shipping.models import Asn
from kernel.errors import Forbidden
from portal.jobs import dispatcher
from tests.erp.coldchain.support import T0, bind_lot, call, cold_lot, logger, rows, send, series, who

NOW = T0 + timedelta(days=1)


@pytest.fixture
def people_(tx, world):
    return who(tx, world)


def deliver(tx, settings, world) -> None:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        while dispatcher(settings).deliver_pending(uow):
            pass
        uow.commit()


def alerts(tx, world, *where):
    return rows(tx, world, ColdChainAlert, *where, order=ColdChainAlert.raised_at)


def test_an_excursion_holds_the_lot_opens_a_nonconformance_and_mails_quality(tx, world, people_, settings, mailbox):
    received, condition = cold_lot(tx, world, people_, minutes=30)
    box = logger(tx, world, people_["warehouse"])
    bind_lot(tx, world, people_["warehouse"], box, received.lot)
    deliver(tx, settings, world)
    mailbox.clear()

    # 8:00 4 °C, then 8:10-8:50 above 8 °C (peak 12.5), back at 9:00: 50 minutes outside.
    got = send(tx, world, people_["warehouse"], box, series([4, 9, 11, 12.5, 10, 9, 5]), now=NOW)
    assert [a.kind for a in got.alerts] == ["temperature_high"] and got.batch.alerts == 1
    [alert] = alerts(tx, world, ColdChainAlert.binding_id.is_not(None))
    assert alert.started_at == T0 + timedelta(minutes=10) and alert.ended_at == T0 + timedelta(minutes=60)
    assert alert.minutes == 50 and float(alert.peak) == 12.5 and float(alert.limit_value) == 8
    assert alert.lot_ids == [str(received.lot.id)] and alert.status == "open"
    assert alert.evidence["logger"] == box.code and alert.evidence["allowed_minutes"] == 30

    held = rows(tx, world, Stock, Stock.lot_id == received.lot.id)
    assert {s.status for s in held} == {"on_hold"}
    [movement] = rows(tx, world, StockMovement, StockMovement.lot_id == received.lot.id, StockMovement.kind == "hold")
    assert (movement.reference_kind, movement.reference_id) == ("cold_chain_alert", alert.id)
    [nc] = rows(tx, world, Nonconformance, Nonconformance.id == alert.nonconformance_id)
    assert nc.number.startswith("NC-") and nc.lot_id == received.lot.id and nc.item_id == condition.item_id
    # The record of the moment it was raised: 40 minutes out by 8:50, still going on.
    for evidence in (box.code, "peak 12.50 °C", "40 min outside the range", "30 min allowed", "limit 8.00 °C", "MKT so far",
                     "still going on", received.lot.number):
        assert evidence in nc.description

    deliver(tx, settings, world)
    to = {m["To"]: m for m in mailbox}
    assert world.users["quality"].email in to and world.users["warehouse"].email in to  # lot.release, coldchain.view
    assert world.users["viewer"].email not in to and world.users["supplier1"].email not in to
    mail = to[world.users["quality"].email]
    assert "Cold-chain alert" in mail["Subject"] and box.code in mail["Subject"]
    body = mail.get_body(("plain",)).get_content()
    assert f"/cold-chain/alerts/{alert.id}" in body and "12.50" in body and received.lot.number in body
    assert "on hold" in body


def test_the_mail_is_in_the_recipients_language(tx, world, people_, settings, mailbox):
    from auth.models import User

    with tx.uow(tenant_id=world.tenant_id) as uow:
        uow.execute(sa.update(User).where(User.id == world.users["quality"].id).values(locale="zh_Hans_CN"))
        uow.commit()
    received, _ = cold_lot(tx, world, people_, minutes=0)
    box = logger(tx, world, people_["warehouse"])
    bind_lot(tx, world, people_["warehouse"], box, received.lot)
    deliver(tx, settings, world)
    mailbox.clear()
    send(tx, world, people_["warehouse"], box, series([5, 1]), now=NOW)
    deliver(tx, settings, world)
    mail = next(m for m in mailbox if m["To"] == world.users["quality"].email)
    assert mail["Content-Language"] == "zh-Hans-CN"


def test_an_excursion_across_batches_is_raised_once_and_kept_up_to_date(tx, world, people_):
    received, _ = cold_lot(tx, world, people_, minutes=15)
    box = logger(tx, world, people_["warehouse"])
    bind_lot(tx, world, people_["warehouse"], box, received.lot)
    operator = people_["warehouse"]
    first = send(tx, world, operator, box, series([5, 9, 10]), now=NOW)  # 10 minutes out so far: tolerated
    assert first.alerts == []
    second = send(tx, world, operator, box, series([11, 12], start=T0 + timedelta(minutes=30)), now=NOW)
    assert [a.kind for a in second.alerts] == ["temperature_high"]
    # The export again, longer: the known readings are skipped, nothing is raised twice.
    third = send(tx, world, operator, box, series([5, 9, 10, 11, 12, 13, 6]), now=NOW)
    assert third.known == 5 and third.alerts == []
    [alert] = alerts(tx, world, ColdChainAlert.kind == "temperature_high")
    assert alert.started_at == T0 + timedelta(minutes=10) and alert.ended_at == T0 + timedelta(minutes=60)
    assert alert.minutes == 50 and float(alert.peak) == 13
    [binding] = rows(tx, world, LoggerBinding, LoggerBinding.logger_id == box.id)
    state = next(iter(binding.exposure.values()))
    assert state["t_out_s"] == 50 * 60 and state["mkt_n"] == 7


def test_cumulative_minutes_and_mkt_limits(tx, world, people_):
    received, _ = cold_lot(tx, world, people_, minutes=60, cumulative=25, max_mkt="7")
    box = logger(tx, world, people_["warehouse"])
    bind_lot(tx, world, people_["warehouse"], box, received.lot)
    # Three short excursions of 10 minutes each (each tolerated), 30 minutes together.
    got = send(tx, world, people_["warehouse"], box, series([5, 9, 5, 9, 5, 9, 5]), now=NOW)
    assert [a.kind for a in got.alerts] == ["cumulative"]
    assert got.alerts[0].minutes == 30 and float(got.alerts[0].limit_value) == 25
    warm = send(tx, world, people_["warehouse"], box, series([7.9] * 30, start=T0 + timedelta(hours=2)), now=NOW)
    assert [a.kind for a in warm.alerts] == ["mkt"] and float(warm.alerts[0].peak) > 7


def test_humidity_is_checked_against_its_own_range(tx, world, people_):
    received, _ = cold_lot(tx, world, people_, minutes=0, humidity=("20", "60"))
    box = logger(tx, world, people_["warehouse"])
    bind_lot(tx, world, people_["warehouse"], box, received.lot)
    got = send(tx, world, people_["warehouse"], box, series([5, 5, 5], humidity=[50, 75, 55]), now=NOW)
    assert [(a.kind, float(a.peak)) for a in got.alerts] == [("humidity_high", 75)]
    assert got.alerts[0].evidence["measure"] == "humidity"


def test_readings_outside_the_binding_period_or_of_items_without_conditions_raise_nothing(tx, world, people_):
    received, _ = cold_lot(tx, world, people_, minutes=0)
    box = logger(tx, world, people_["warehouse"])
    bind_lot(tx, world, people_["warehouse"], box, received.lot, starts_at=T0 + timedelta(hours=5))
    assert send(tx, world, people_["warehouse"], box, series([20, 20]), now=NOW).alerts == []
    assert {s.status for s in rows(tx, world, Stock, Stock.lot_id == received.lot.id)} == {"quarantine"}


def test_a_gap_between_readings_is_an_alert_that_holds_nothing(tx, world, people_):
    received, _ = cold_lot(tx, world, people_, gap=30)
    box = logger(tx, world, people_["warehouse"])
    bind_lot(tx, world, people_["warehouse"], box, received.lot)
    got = send(tx, world, people_["warehouse"], box, [(T0, 5, None), (T0 + timedelta(minutes=45), 5, None)], now=NOW)
    [gap] = got.alerts
    assert (gap.kind, gap.started_at, gap.ended_at, gap.minutes) == ("gap", T0, T0 + timedelta(minutes=45), 45)
    assert gap.nonconformance_id is None
    assert {s.status for s in rows(tx, world, Stock, Stock.lot_id == received.lot.id)} == {"quarantine"}


def test_a_silent_logger_raises_a_gap_alert_once_from_the_job(tx, world, people_, settings, mailbox):
    received, _ = cold_lot(tx, world, people_, gap=60)
    box = logger(tx, world, people_["warehouse"])
    bind_lot(tx, world, people_["warehouse"], box, received.lot)
    send(tx, world, people_["warehouse"], box, series([5, 5]), now=NOW)
    last = T0 + timedelta(minutes=10)
    assert silence_all(tx, now=last + timedelta(minutes=50)) == 0
    assert silence_all(tx, now=last + timedelta(minutes=61)) == 1
    assert silence_all(tx, now=last + timedelta(hours=5)) == 0
    [gap] = alerts(tx, world, ColdChainAlert.kind == "gap")
    assert gap.started_at == last and gap.ended_at is None and gap.minutes == 61
    # When the readings resume after the silence, the same gap is not raised again.
    assert send(tx, world, people_["warehouse"], box, series([5], start=last + timedelta(hours=6)), now=NOW).alerts == []
    deliver(tx, settings, world)
    assert any("silent" in m["Subject"] for m in mailbox)


def test_a_late_cold_chain_shipment_is_alerted_once(tx, world, people_):
    from tests.erp.receiving.test_receipts import submitted_asn

    shipment, _, asn_id = submitted_asn(tx, world)
    with tx.uow(tenant_id=world.tenant_id) as uow:
        expected = uow.scalar(sa.select(Asn.expected_arrival).where(Asn.id == asn_id))
    # Not cold chain yet: nothing.
    assert delayed_all(tx, on=expected + timedelta(days=2)) == 0
    call(tx, world, people_["quality"], coldchain.save_storage_condition, item_id=shipment.component.id, max_temperature="25")
    assert delayed_all(tx, on=expected) == 0  # due today: not late
    assert delayed_all(tx, on=expected + timedelta(days=2)) == 1
    assert delayed_all(tx, on=expected + timedelta(days=3)) == 0
    [late] = alerts(tx, world, ColdChainAlert.kind == "delayed")
    assert late.asn_id == asn_id and late.evidence["days_late"] == 2 and late.nonconformance_id is None


def test_a_seal_mismatch_on_receipt_is_alerted(tx, world, people_):
    from tests.erp.receiving.test_receipts import submitted_asn

    _, data, asn_id = submitted_asn(tx, world)
    with tx.uow(tenant_id=world.tenant_id) as uow:
        uow.execute(sa.update(Asn).where(Asn.id == asn_id).values(seal_number="SEAL-001"))
        uow.commit()
    operator = people_["warehouse"]
    receipt = call(tx, world, operator, receiving.start_receipt, sscc=data["packages"][1]["sscc"])
    assert call(tx, world, operator, transport.check_seal, receipt_id=receipt.id, seal_number=" seal-001 ") is None
    mismatch = call(tx, world, operator, transport.check_seal, receipt_id=receipt.id, seal_number="SEAL-999")
    assert mismatch.kind == "seal_mismatch" and mismatch.receipt_id == receipt.id and mismatch.asn_id == asn_id
    assert mismatch.evidence["expected_seal"] == "SEAL-001" and mismatch.evidence["found_seal"] == "SEAL-999"
    assert call(tx, world, operator, transport.check_seal, receipt_id=receipt.id, seal_number="SEAL-998") is None  # once
    from erp.receiving.models import Receipt

    assert rows(tx, world, Receipt, Receipt.id == receipt.id)[0].seal_number == "SEAL-998"
    with tx.uow(tenant_id=world.tenant_id, actor=people_["supplier1"]) as uow, pytest.raises(Forbidden):
        transport.check_seal(uow, people_["supplier1"], receipt_id=receipt.id, seal_number="X")


def test_an_alert_is_acknowledged_once_with_a_note(tx, world, people_):
    from kernel.errors import Conflict, ValidationFailed

    received, _ = cold_lot(tx, world, people_, minutes=0)
    box = logger(tx, world, people_["warehouse"])
    bind_lot(tx, world, people_["warehouse"], box, received.lot)
    [alert] = send(tx, world, people_["warehouse"], box, series([5, 9]), now=NOW).alerts
    quality = people_["quality"]
    with tx.uow(tenant_id=world.tenant_id, actor=quality) as uow:
        with pytest.raises(ValidationFailed) as bad:
            alerting.acknowledge_alert(uow, quality, alert_id=alert.id, note="  ")
        assert set(bad.value.errors) == {"note"}
    done = call(tx, world, quality, alerting.acknowledge_alert, alert_id=alert.id, note="Fridge door left open; lot to QA.")
    assert done.status == "acknowledged" and done.evidence["note"].startswith("Fridge door")
    with tx.uow(tenant_id=world.tenant_id, actor=quality) as uow, pytest.raises(Conflict):
        alerting.acknowledge_alert(uow, quality, alert_id=alert.id, note="again")
    with tx.uow(tenant_id=world.tenant_id, actor=people_["viewer"]) as uow, pytest.raises(Forbidden):
        alerting.list_alerts(uow, people_["viewer"])


def test_the_alert_list_puts_open_alerts_first_a_page_at_a_time(tx, world, people_):
    received, _ = cold_lot(tx, world, people_, minutes=0, gap=5)
    box = logger(tx, world, people_["warehouse"])
    bind_lot(tx, world, people_["warehouse"], box, received.lot)
    raised = send(tx, world, people_["warehouse"], box, series([5, 9, 5, 1, 5], step=10), now=NOW).alerts
    assert len(raised) >= 4
    quality = people_["quality"]
    call(tx, world, quality, alerting.acknowledge_alert, alert_id=raised[0].id, note="seen")
    seen, cursor = [], None
    while True:
        with tx.uow(tenant_id=world.tenant_id, actor=quality) as uow:
            page = alerting.list_alerts(uow, quality, limit=2, cursor=cursor)
            seen += [(a.id, a.status) for a in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(raised) and len({i for i, _ in seen}) == len(raised)
    assert seen[-1] == (raised[0].id, "acknowledged") and all(status == "open" for _, status in seen[:-1])


def test_scan_reads_a_run_across_batches_like_one_batch():
    """The running state gives the same findings batch by batch as all at once."""
    from erp.coldchain.excursions import Limits, scan

    limits = Limits(id="c", item_id=None, t_min=2, t_max=8, h_min=None, h_max=None, excursion_s=1200, cumulative_s=0,
                    max_mkt=None, energy=83.144, gap_s=3600)
    readings = series([5, 9, 10, 11, 5, 1, 1, 1, 1, 5])
    whole: list = []
    all_at_once = scan({}, limits, readings, whole)
    pieces: list = []
    state: dict = {}
    for cut in (readings[:2], readings[2:3], readings[3:7], readings[7:]):
        state = scan(state, limits, cut, pieces)
    assert [(f.kind, f.started_at) for f in whole if not f.update] == [(f.kind, f.started_at) for f in pieces if not f.update]
    assert state == all_at_once
    assert [f.kind for f in whole if not f.update] == ["temperature_high", "temperature_low"]


def test_an_item_with_storage_conditions_on_its_label_is_watched_without_a_saved_condition(tx, world, people_):
    """No storage condition saved: the item's labelled 2-8 °C and 30 minutes allowed
    (its master data) are the rule, so its lot goes on hold all the same."""
    from tests.erp.receiving.receiving_support import receive
    from tests.factories import make_item

    quality = people_["quality"]
    with tx.uow(tenant_id=world.tenant_id, actor=quality) as uow:
        thing = make_item(
            uow, category="component", storage_temp_min_c="2", storage_temp_max_c="8", max_excursion_minutes=30,
        )  # fmt: skip
        received = receive(uow, quality, supplier=world.suppliers[0], item_id=thing.id)
        uow.commit()
        uow.session.expunge_all()
    box = logger(tx, world, people_["warehouse"])
    bind_lot(tx, world, people_["warehouse"], box, received.lot)
    got = send(tx, world, people_["warehouse"], box, series([4, 9, 11, 12.5, 10, 9, 5]), now=NOW)
    assert [a.kind for a in got.alerts] == ["temperature_high"]
    assert {s.status for s in rows(tx, world, Stock, Stock.lot_id == received.lot.id)} == {"on_hold"}
    # Within the label's range: nothing raised.
    calm = logger(tx, world, people_["warehouse"])
    with tx.uow(tenant_id=world.tenant_id, actor=quality) as uow:
        other = receive(uow, quality, supplier=world.suppliers[0], item_id=thing.id)
        uow.commit()
        uow.session.expunge_all()
    bind_lot(tx, world, people_["warehouse"], calm, other.lot)
    assert send(tx, world, people_["warehouse"], calm, series([4, 5, 6, 7]), now=NOW).alerts == []


def test_a_logger_bound_after_its_readings_arrived_reads_them_at_once(tx, world, people_):
    """The export came before anyone bound the logger: binding it to the lot from a
    start in the past reads the stored readings of that period against the lot."""
    received, _ = cold_lot(tx, world, people_, minutes=30)
    box = logger(tx, world, people_["warehouse"])
    send(tx, world, people_["warehouse"], box, series([4, 9, 11, 12.5, 10, 9, 5]), now=NOW)  # unbound: nothing to read
    assert alerts(tx, world, ColdChainAlert.logger_id == box.id) == []
    bind_lot(tx, world, people_["warehouse"], box, received.lot)  # from T0, before the readings
    [alert] = alerts(tx, world, ColdChainAlert.logger_id == box.id)
    assert alert.kind == "temperature_high" and alert.minutes == 50
    assert {s.status for s in rows(tx, world, Stock, Stock.lot_id == received.lot.id)} == {"on_hold"}
