"""Campaign configuration: TOML → validated, frozen dataclasses (the only code that sees raw dicts).

``schema`` — the declarative section schema and its error messages; ``campaign`` — the top-level
``Campaign`` and ``load_campaign``; ``crosscheck`` — rules spanning sections; one module per
group of sections (``ann``, ``gpr``, ``explore``, ``dispatch``, ``store``, ``loop``);
``docs`` — generates docs/config.md; ``commands`` — ``alearn validate``.
"""
