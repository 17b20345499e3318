"""`payments dev`: the whole system on one machine, as supervised child processes."""
