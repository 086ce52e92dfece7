/// UUIDv7 ids made in the database carry the sub-millisecond part of their time in the 12 bits
/// RFC 9562 allows for it (its "method 3"), so rows made one after the other sort in the order
/// they were made even within one millisecond (a job's claim and its failure, say).
enum Migration0008OrderedIds {
    static let migration = Migration(version: 8, name: "ordered_ids", statements: [
        """
        CREATE OR REPLACE FUNCTION fn_uuid_v7() RETURNS uuid AS $$
            WITH now AS (SELECT extract(epoch FROM clock_timestamp()) * 1000 AS ms)
            SELECT encode(
                overlay(
                    overlay(uuid_send(gen_random_uuid())
                            PLACING substring(int8send(floor(now.ms)::bigint) FROM 3) FROM 1 FOR 6)
                    PLACING int2send((28672 + floor((now.ms - floor(now.ms)) * 4096)::int)::int2) FROM 7 FOR 2),
                'hex')::uuid
            FROM now
        $$ LANGUAGE sql VOLATILE
        """,
    ])
}
