DROP INDEX IF EXISTS idx_players_region;
ALTER TABLE players DROP COLUMN IF EXISTS region;
