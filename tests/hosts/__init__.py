"""Real host portals, from the built wheel, served over real HTTP (see ``conftest.py``)."""
