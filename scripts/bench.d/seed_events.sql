-- One million events over the past twelve months on twenty cameras, in monthly partitions, as a
-- busy site accumulates them (in time order): mostly people and cars, words as Vigil's summaries put them.
DO $$
DECLARE
    month date := date_trunc('month', now() - interval '12 months');
BEGIN
    WHILE month < date_trunc('month', now()) LOOP
        EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
                       'events_p' || to_char(month, 'YYYYMM'), month, month + interval '1 month');
        month := month + interval '1 month';
    END LOOP;
END
$$;

WITH cams AS (SELECT array_agg(id ORDER BY name) AS ids, array_agg(name ORDER BY name) AS names FROM cameras),
     g AS (
        SELECT n,
               now() - (random() * interval '365 days') AS started,
               1 + floor(random() * 20)::int AS cam,
               string_to_array((ARRAY['person', 'car', 'person,car', 'dog', 'cat', 'truck', 'person,bicycle', 'person,backpack',
                                      'bird', 'person,dog'])[1 + floor(random() * 10)::int], ',') AS objects,
               (ARRAY['entry point', 'driveway', 'yard', 'sidewalk', 'restricted area', 'entrance', 'garden', 'gate'])
                   [1 + floor(random() * 8)::int] AS zone,
               floor(random() * 100)::int AS risk,
               5 + floor(random() * 300)::int AS seconds
        FROM generate_series(1, 1000000) AS n
     )
INSERT INTO events (id, batch_id, camera_id, event_type, started_at, ended_at, closed_at, announced_at, risk_score, risk_level,
                    summary, reasoning, object_types, place, reviewed, details)
SELECT gen_random_uuid(), gen_random_uuid(), cams.ids[g.cam],
       CASE WHEN 'person' = ANY(g.objects) THEN 'human_detected' ELSE 'object_detected' END,
       g.started, g.started + g.seconds * interval '1 second', g.started + (g.seconds + 30) * interval '1 second',
       g.started + interval '1 second', g.risk,
       CASE WHEN g.risk < 30 THEN 'low' WHEN g.risk < 60 THEN 'medium' WHEN g.risk < 85 THEN 'high' ELSE 'critical' END,
       initcap(array_to_string(g.objects, ' and ')) || ' at ' || cams.names[g.cam] || ', ' || g.zone || ', for ' || g.seconds
           || ' s at ' || to_char(g.started, 'HH24:MI'),
       'A ' || g.objects[1] || ' was seen. It was in the ' || g.zone || '. Risk ' || g.risk || ' of 100.',
       g.objects, cams.names[g.cam] || ' ' || g.zone, random() < 0.7,
       jsonb_build_object('decision_trace', jsonb_build_array('object_' || g.objects[1] || ' +30', 'event_emitted'))
FROM g, cams
ORDER BY g.started;  -- as they happen: in time order
-- Vacuumed and analysed as a running system would have them, not racing autovacuum after the burst.
VACUUM ANALYZE events;
