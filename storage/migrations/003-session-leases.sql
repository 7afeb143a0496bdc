-- Who is working a docking, and until when that claim holds. The process that runs a
-- session's device jobs renews its lease; a session whose lease ran out (or whose owner
-- process is gone) is taken over by the next process that serves the workstation's queues
-- or docks the same recorder, instead of being taken for "in progress" forever.
ALTER TABLE dock_sessions
  ADD COLUMN owner       text,
  ADD COLUMN lease_until timestamptz;
CREATE INDEX dock_sessions_open ON dock_sessions (workstation_id) WHERE status IN ('acquiring', 'acquired', 'interrupted');

-- A file of a docking whose recording another, live docking was already ingesting: that
-- file's outcome is this one's too (and this docking's case, subject and place are linked
-- to the evidence it becomes).
ALTER TABLE session_files ADD COLUMN handled_by uuid REFERENCES session_files (id);
CREATE INDEX session_files_handled_by ON session_files (handled_by) WHERE handled_by IS NOT NULL;
