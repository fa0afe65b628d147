"""Importing Claude Code transcripts into Cairn: incremental and idempotent.

Each file remembers how far it was read (always the end of a complete line). A file that
shrank or whose first bytes changed was rewritten and is read again from the start: requests
merge by key (max-wins) and tool calls by tool_use id, so reading a line twice never counts it
twice.

Files are found (`finding`), read and parsed (`reading`: no database; by worker processes when
there is much to read), then stored a batch at a time (`storing`: one transaction per
`tuning.BATCH_BYTES` of new lines, with their read positions), so that a file is stored whole
or not at all. `runner` drives a whole import; `totals` keeps each session's figures exact;
`claims` tells whether a transcript a hook names is its key's project's.
"""
