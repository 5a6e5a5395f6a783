"""`workbench serve`'s pieces: who is answered, the server around textual-serve, a session."""
