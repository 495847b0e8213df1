from kernel.errors import N_, Conflict, NotFound


class DuplicatePartNumber(Conflict):
    code = "duplicate-part-number"
    message = N_("An item with the part number %(part_number)s already exists.")


class DuplicateUdiDi(Conflict):
    code = "duplicate-udi-di"
    message = N_("The UDI-DI %(udi_di)s is already the device identifier of item %(part_number)s.")


class ItemNotFound(NotFound):
    # The same for an item that does not exist and one of another tenant (row-level
    # security hides those).
    code = "item-not-found"
    message = N_("There is no such item.")


class ItemImportNotFound(NotFound):
    code = "item-import-not-found"
    message = N_("There is no such import.")


class RevisionNotFound(NotFound):
    # Also a revision of another tenant (row-level security hides those).
    code = "item-revision-not-found"
    message = N_("There is no such revision.")


class RevisionInEffect(Conflict):
    code = "item-revision-in-effect"
    message = N_(
        "Revision %(revision)s has already taken effect. Revisions in effect are part of the item's history"
        " and cannot be cancelled; add a new revision instead."
    )
