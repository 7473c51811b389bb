"""The electronic ballot: a frozen roll, personal voting links, secret choices, the tally."""
