"""`oid_paste_insert`: the one implementation of the insertion (oid.paste.pipeline),
used by the overlay on the controller, where the oid package is installed."""

from oid.paste.pipeline import insert_filters


def oid_paste_insert(text, options):
    return insert_filters(text, {key: str(value) for key, value in options.items()})


class FilterModule:
    def filters(self):
        return {"oid_paste_insert": oid_paste_insert}
