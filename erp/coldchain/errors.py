"""Cold-chain errors."""

from kernel.errors import N_, Conflict, NotFound, ValidationFailed


class LoggerNotFound(NotFound):
    code = "logger-not-found"
    message = N_("No data logger has this code. Register the logger first.")


class BindingNotFound(NotFound):
    code = "binding-not-found"
    message = N_("This logger binding does not exist.")


class AlertNotFound(NotFound):
    code = "alert-not-found"
    message = N_("This cold-chain alert does not exist.")


class LoggerBusy(Conflict):
    """A logger is in one place at a time: two bindings of one logger may not overlap."""

    code = "logger-bound"
    message = N_(
        "Logger %(logger)s is already bound to %(target)s from %(starts)s until %(ends)s: a logger watches one "
        "shipment, place or lot at a time. End that binding first, or choose another period."
    )


class BatchKeyReused(Conflict):
    code = "batch-key-reused"
    message = N_("Batch %(key)s of this logger was received already with other readings. Send new readings with a new batch key.")


class ReadingsInvalid(ValidationFailed):
    """The batch was refused as a whole; nothing was stored. `problems` lists each
    (index of the reading, field, message, params); `errors` keys them
    "readings.<index>.<field>" (the API's problem details), an upload renumbers them by
    file row."""

    code = "readings-invalid"
    message = N_("The readings were not stored: correct the readings listed and send the whole batch again.")

    def __init__(self, problems: list[tuple[int, str, str, dict]]) -> None:
        self.problems = problems
        errors: dict[str, str] = {}
        self.params_by_field: dict[str, dict] = {}
        for index, field, text, params in problems:
            key = f"readings.{index}.{field}" if index >= 0 else field
            if key not in errors:
                errors[key] = text
                if params:
                    self.params_by_field[key] = params
        super().__init__(errors=errors)
