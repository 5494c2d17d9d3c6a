"""Read models derived from the log. None is built yet: the log is read directly."""
