-- The runbook's "add a column and its index" pattern: the region a player last played in,
-- so matchmaking can prefer a nearby Fly region.
ALTER TABLE players ADD COLUMN IF NOT EXISTS region VARCHAR(8);
CREATE INDEX IF NOT EXISTS idx_players_region ON players(region);
