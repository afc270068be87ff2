"""The bottom layer: small pieces every other layer may use, importing nothing of lnpilot.

What lives here has no opinion about Lightning, the node or the store: reading a TOML file
into a strict model and naming what is wrong with it (:mod:`.tomlfile`), bech32
(:mod:`.bech32`), keeping secrets out of text (:mod:`.redact`) and secrets read from files
(:mod:`.secrets`). Because simnet imports nothing above itself, anything simnet shares with
the product has to live at this level; ``tests/test_layers.py`` keeps it that way.
"""
