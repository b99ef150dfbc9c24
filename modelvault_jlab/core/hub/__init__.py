"""Hub repositories: refs, reading, writing, LFS, mirrors of upstream Hubs, trees, model cards
and the download of one file (:mod:`.download`)."""
