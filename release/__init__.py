"""Release tooling: CI gates, model cards with results, Hub publishing and leaderboards."""
