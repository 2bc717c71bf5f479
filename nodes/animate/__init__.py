"""The default animation path's stages (DESIGN §2a): pure functions, one small file per job.

Mouth and eyes (issue 19): ``regions`` (feature geometry and mattes), ``colour_match`` (Lab statistics
transfer), ``plate`` (the source with its apertures closed), ``teeth``, ``mouth`` (interior sources and
compositing), ``iris`` (iris location and its temporal stabiliser), ``eyes`` (gaze and eyelids),
``targets`` (per-feature landmark retargeting) and ``features`` (the per-shot / per-frame driver of them).
"""
