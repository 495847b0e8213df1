"""The seal number on a ship notice: the supplier gives the truck's or container's seal
(letters, digits and dashes, up to 40), trimmed; it is kept with the header on every
entry path (service, file import), kept in a revision's content, and anything else is
refused on its field with nothing written."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from erp.shipping import service as asns
from erp.shipping import validation
from erp.shipping.models import Asn, AsnRevision
from erp.shipping.schemas import AsnDetailOut
from kernel.errors import TOO_LONG, ValidationFailed
from tests.erp.shipping import test_asn_imports as files
from tests.erp.shipping.asn_support import acknowledged_order, asn_data, save
from tests.erp.shipping.test_asn import refused


def stored_seal(tx, world, asn_id) -> str | None:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return uow.scalar(sa.select(Asn.seal_number).where(Asn.id == asn_id))


def test_the_seal_is_stored_trimmed_read_back_and_kept_in_a_revision(tx, world):
    shipment = acknowledged_order(tx, world)
    supplier = shipment.who["supplier1"]
    saved = save(tx, world, supplier, asn_data(shipment, seal_number="  SL-0042817 "))
    assert stored_seal(tx, world, saved.asn.id) == "SL-0042817"
    with tx.uow(tenant_id=world.tenant_id, actor=supplier) as uow:
        detail = asns.get_asn(uow, supplier, asn_id=saved.asn.id)
        assert asns.data_of(detail)["seal_number"] == "SL-0042817"
        assert AsnDetailOut.of(detail).seal_number == "SL-0042817"
        submitted = asns.submit_asn(uow, supplier, asn_id=saved.asn.id, version=saved.asn.version)
        data = asns.data_of(detail) | {"seal_number": "SL-0042999"}
        uow.commit()
    changed = save(tx, world, supplier, data, asn_id=saved.asn.id, version=submitted.asn.version, reason="New truck")
    assert stored_seal(tx, world, changed.asn.id) == "SL-0042999"
    with tx.uow(tenant_id=world.tenant_id) as uow:
        [revision] = uow.session.scalars(sa.select(AsnRevision).where(AsnRevision.asn_id == saved.asn.id))
        assert revision.content["seal_number"] == "SL-0042817"


@pytest.mark.parametrize("given", [None, "", "   "])
def test_no_seal_is_none(tx, world, given):
    shipment = acknowledged_order(tx, world)
    saved = save(tx, world, shipment.who["supplier1"], asn_data(shipment, seal_number=given))
    assert stored_seal(tx, world, saved.asn.id) is None


@pytest.mark.parametrize("seal", ["A1", "0042817", "sl-0042817", "SL-2026-04-0042", "X" * 40])
def test_letters_digits_and_dashes_are_seals(seal):
    errors: dict = {}
    assert validation.seal_number(seal, errors) == seal and errors == {}


@pytest.mark.parametrize(
    ("seal", "message"),
    [
        ("SL 0042817", validation.SEAL_FORMAT),  # a space inside
        ("SL_0042817", validation.SEAL_FORMAT),
        ("SL/0042817", validation.SEAL_FORMAT),
        ("-0042817", validation.SEAL_FORMAT),
        ("0042817-", validation.SEAL_FORMAT),
        ("封条0042817", validation.SEAL_FORMAT),
        ("ＳＬ００４２", validation.SEAL_FORMAT),  # full-width letters and digits
        ("S" * 41, TOO_LONG),
    ],
)
def test_a_bad_seal_is_refused_on_its_field_and_nothing_is_written(tx, world, seal, message):
    shipment = acknowledged_order(tx, world)
    error = refused(tx, world, shipment.who["supplier1"], asn_data(shipment, seal_number=seal))
    assert error.errors == {"seal_number": message}


def test_a_bad_seal_on_a_change_leaves_the_stored_one(tx, world):
    shipment = acknowledged_order(tx, world)
    supplier = shipment.who["supplier1"]
    data = asn_data(shipment, seal_number="SL-1")
    saved = save(tx, world, supplier, data)
    with pytest.raises(ValidationFailed) as caught:
        save(tx, world, supplier, data | {"seal_number": "SL 2"}, asn_id=saved.asn.id, version=saved.asn.version)
    assert caught.value.errors == {"seal_number": validation.SEAL_FORMAT}
    assert stored_seal(tx, world, saved.asn.id) == "SL-1"


def test_a_file_import_takes_the_seal_from_the_header_and_refuses_a_bad_one_on_row_zero(tx, world):
    shipment = acknowledged_order(tx, world)
    number = files.po_number(tx, world, shipment)
    rows = files.csv_file([files.HEADER, *(f"{number},10,,,,,L-1,,{files.expiry()},SN-{n}" for n in (1, 2, 3))])
    error = files.refused(tx, world, shipment, rows, seal_number="SL#1")
    assert files.where(error) == [(0, "seal_number", validation.SEAL_FORMAT)]
    saved = files.run(tx, world, shipment, rows, seal_number=" SL-77 ")
    assert stored_seal(tx, world, saved.asn.id) == "SL-77"
