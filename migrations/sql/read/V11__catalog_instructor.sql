-- The catalogue's own copy of instructors' names, so that the catalogue projection owns every table it
-- writes and can be rebuilt alone: it keeps `catalog_course.instructor_name` current from identity events,
-- and no other projection writes `catalog_course`.
CREATE TABLE catalog_instructor (
    id      uuid   NOT NULL,
    name    text   NOT NULL,
    -- The instructor's user stream version this row reflects.
    version bigint NOT NULL,
    CONSTRAINT catalog_instructor_pkey PRIMARY KEY (id)
);

INSERT INTO catalog_instructor (id, name, version)
SELECT id, name, version FROM user_directory WHERE role = 'instructor';
