"""Machine data: tags, samples and their 1-minute rollups, and the machine states and counts derived from them."""
