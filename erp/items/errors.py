from kernel.errors import N_, Conflict


class DuplicatePartNumber(Conflict):
    code = "duplicate-part-number"
    message = N_("An item with the part number %(part_number)s already exists.")
