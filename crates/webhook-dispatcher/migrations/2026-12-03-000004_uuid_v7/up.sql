-- UUIDv7 (RFC 9562) made by Postgres 15, which has no uuidv7(): the fan-out creates its
-- deliveries inside one statement, and their ids must still sort by creation time (the delivery
-- log pages by id). A v4 UUID with its first 48 bits replaced by the Unix time in milliseconds
-- and its version bits (52, 53) turned from 4 into 7.
CREATE FUNCTION uuid_v7() RETURNS uuid AS $$
    SELECT encode(
        set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid())
                    PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                    FROM 1 FOR 6),
            52, 1), 53, 1),
        'hex')::uuid
$$ LANGUAGE sql VOLATILE PARALLEL SAFE;
