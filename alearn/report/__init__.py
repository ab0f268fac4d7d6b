"""``alearn report``: matplotlib plots (``plots``) and a self-contained HTML page (``html``)."""
