"""The default animation path (DESIGN §2a): the whole head layer warped at the photo's own resolution.

In the spirit of Averbuch-Elor et al., "Bringing Portraits to Life" (SIGGRAPH Asia 2017): per shot, the
head layer's matte and the background it may uncover (``head_layer``); per frame, a dense fold-free backward
map driven by the retargeted landmarks (``motion``), the warp and the composite (``compose``), tied together
by ``animate.animate_frames``.

Mouth and eyes (issue 19), after the warp: ``regions`` (feature geometry and mattes), ``colour_match`` (Lab
statistics transfer), ``plate`` (the photo with its apertures closed), ``teeth``, ``mouth`` (interior sources
and compositing), ``iris`` (iris location and its temporal stabiliser), ``eyes`` (gaze and eyelids),
``targets`` (per-feature landmark retargeting) and ``features`` (the per-shot / per-frame driver of them).
"""
