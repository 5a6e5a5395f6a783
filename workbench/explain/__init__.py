"""Evidence, explained: the cause catalogue (data) and the matcher over log lines and facts."""
