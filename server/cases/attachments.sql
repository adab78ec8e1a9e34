-- Attachments (photos) of cases and actions: the rows behind the files of attachments.ts.
-- Scope: $scope NULL = unrestricted, else a code prefix a case's grid_code must start with.

-- name: insert
-- $1 id, $2 uploader user id, $3 type, $4 size, $5 width, $6 height, $7 sha256, $8 original name.
-- Output: created_at.
INSERT INTO attachments (id, uploader_id, type, size, width, height, sha256, original_name)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING created_at;

-- name: readable
-- $1 id, $2 user id, $3 scope. The attachment when the user uploaded it or sees a case (in scope)
-- one of whose actions refers to it; no row otherwise. Output: id, type, size.
SELECT a.id, a.type, a.size
FROM attachments a
WHERE a.id = $1
  AND (a.uploader_id = $2
       OR EXISTS (SELECT 1 FROM case_actions ca JOIN cases c ON c.id = ca.case_id
                   WHERE ca.attachments @> jsonb_build_array(jsonb_build_object('id', a.id))
                     AND ($3::text IS NULL OR c.grid_code LIKE $3::text || '%')));

-- name: usable
-- $1 text[] ids, $2 user id, $3 case id (NULL for a new case). Of the ids, those the user may
-- attach: uploaded by them, or already on that case. Output: id, type.
SELECT a.id, a.type
FROM attachments a
WHERE a.id = ANY($1::text[])
  AND (a.uploader_id = $2
       OR ($3::int IS NOT NULL AND EXISTS (SELECT 1 FROM case_actions ca
                                            WHERE ca.case_id = $3::int
                                              AND ca.attachments @> jsonb_build_array(jsonb_build_object('id', a.id)))));
