"""Schema parity of our app: the plugin's checks (``test_parity.py``) and our own."""
