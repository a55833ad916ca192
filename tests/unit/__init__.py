"""The fast layer: no server, no socket (a package, so its modules may share names with tests/)."""
