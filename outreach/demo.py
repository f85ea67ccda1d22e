DEMO_LOGINS_HINT = ""


def load_demo(session, force=False):
    return None
