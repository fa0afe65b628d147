"""The sizes that pace an import. Read as `tuning.NAME` when used, so a test can change them."""

# New bytes after which the files read so far are stored, in one transaction: large enough
# that round trips do not count, small enough that a batch's row locks (on skill rollups)
# are held for a short while only.
BATCH_BYTES = 16_000_000
# New bytes from which files are read by worker processes, at most MAX_WORKERS, with at most
# IN_FLIGHT files read ahead of the one being stored.
PARALLEL_BYTES = 8_000_000
MAX_WORKERS = 4
IN_FLIGHT = 64
# New requests after which the tables are analyzed (then again at each doubling).
ANALYZE_AFTER = 2_000
# Seconds a run waits for a lock another import (or a hook) holds, the run's own lock
# included, before it gives up (`import_transcripts --lock-timeout`).
LOCK_TIMEOUT_S = 30.0
