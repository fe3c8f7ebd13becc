"""The Textual app. It renders Steps and never imports torch."""
