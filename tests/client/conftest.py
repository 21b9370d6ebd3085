from tests.support.two_keystones import interposers, keystones  # noqa: F401 (fixtures)
