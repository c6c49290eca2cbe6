"""Every file dnemkit writes goes through here: atomic writes (:mod:`.atomic`), results datasets with their
provenance (:mod:`.results`) and movies in and out (:mod:`.movies`). Figures are saved by :mod:`dnemkit.viz.save`."""
