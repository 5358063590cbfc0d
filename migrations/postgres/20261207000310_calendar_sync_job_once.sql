-- Expand only: binaries older than this migration never queue two live jobs of one kind.
-- At most one pending or running job of each kind per integration: scheduling a sync that is
-- already queued (a period tick on two instances, a push notification during a sync) is a no-op.
CREATE UNIQUE INDEX calendar_sync_jobs_live_once ON calendar_sync_jobs (integration_id, kind)
    WHERE status IN ('pending', 'running');
