from calsync.cli import app

app()
