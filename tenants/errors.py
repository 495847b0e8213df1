from kernel.errors import N_, Conflict, NotFound


class TenantNotFound(NotFound):
    code = "tenant-not-found"
    message = N_("No such organisation.")


class SlugTaken(Conflict):
    code = "slug-taken"
    message = N_("The short name %(slug)s is already in use.")
