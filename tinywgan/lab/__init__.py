"""What the chapters share: the toy 2-D experiment runs (:mod:`.experiment`), metrics (:mod:`.metrics`),
figures (:mod:`.plots`), the digit classifier that grades chapter 09's samples (:mod:`.classifier`) and the
chapters' command line (:mod:`.cli`)."""
