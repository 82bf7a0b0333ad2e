DROP INDEX connections_updated_at;
DROP TABLE connection_tombstones;
