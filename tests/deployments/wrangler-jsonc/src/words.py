"""A module beside main, imported as Cloudflare bundles it (`from words import shout`)."""


def shout(text):
    return text.upper()
