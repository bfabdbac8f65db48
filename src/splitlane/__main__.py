from splitlane.cli.main import app

app()
