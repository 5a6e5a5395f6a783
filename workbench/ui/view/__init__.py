"""`workbench view`: several logs merged by time into one timeline, followed live."""
