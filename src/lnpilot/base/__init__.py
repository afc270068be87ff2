"""The bottom layer: small pieces every other layer may use, importing nothing of lnpilot.

What lives here is shared by every layer: the domain objects the node backends speak and the
store keeps (:mod:`.domain`: channels, forwards, policies, ...), reading a TOML file
into a strict model and naming what is wrong with it (:mod:`.tomlfile`), bech32
(:mod:`.bech32`), keeping secrets out of text (:mod:`.redact`), secrets read from files
(:mod:`.secrets`), and the one HTTP transport to LNbits and to LND (:mod:`.http`, its retry
rules in :mod:`.retry`): it knows neither server, the LNbits client and the LND backend
each configure it. Because simnet imports nothing above itself, anything simnet shares with
the product has to live at this level; ``tests/test_layers.py`` keeps it that way.
"""
