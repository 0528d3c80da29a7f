-- A course's long description, preview video, outline, keywords and captions (CourseCreated and
-- CourseDetailsUpdated version 2), as one object the course page shows. Like V19 to V22, it changes nothing when
-- run again.
ALTER TABLE catalog_course ADD COLUMN IF NOT EXISTS details jsonb NOT NULL DEFAULT '{}';
