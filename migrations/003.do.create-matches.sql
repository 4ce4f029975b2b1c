-- Finished matches and who played them, for match history and rating updates.
CREATE TABLE IF NOT EXISTS matches (
    id          BIGSERIAL PRIMARY KEY,
    region      VARCHAR(8)  NOT NULL,
    map         VARCHAR(64) NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    ended_at    TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS match_players (
    match_id    BIGINT  NOT NULL REFERENCES matches(id) ON DELETE CASCADE,
    player_id   BIGINT  NOT NULL REFERENCES players(id) ON DELETE CASCADE,
    kills       INTEGER NOT NULL DEFAULT 0,
    deaths      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (match_id, player_id)
);
