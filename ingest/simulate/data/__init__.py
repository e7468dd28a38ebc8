"""Station lists the simulator publishes from (see PROVENANCE.md); a package so they ship."""
