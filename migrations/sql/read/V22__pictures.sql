-- Pictures: a person's profile picture and a course's thumbnail, each as the picture's id and the extension of
-- its encoding (the files are in object storage). Like V19 to V21, it changes nothing when run again.
ALTER TABLE user_directory ADD COLUMN IF NOT EXISTS picture_id text;
ALTER TABLE user_directory ADD COLUMN IF NOT EXISTS picture_format text;
ALTER TABLE catalog_course ADD COLUMN IF NOT EXISTS thumbnail_id text;
ALTER TABLE catalog_course ADD COLUMN IF NOT EXISTS thumbnail_format text;
