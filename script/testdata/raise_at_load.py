x = 1


def helper():
    raise ValueError("boom at load")


helper()
