from legacy_bridge import create_app

app = create_app()
