"""The local runner: the production code on embedded AWS emulation (moto server), as one process."""
