"""All I/O of a checkout: signed merchant calls, merchant discovery, audit writes, platform notifications."""
