"""Skills and training (the learning factory): skill catalogue, levels per person, certifications, training,
shift rosters with skill coverage, and the qualification check at the machine."""
