-- First-frame images already uploaded to a provider (Atlas uploadMedia), by account and by the
-- SHA-256 of the image bytes: each distinct image is uploaded once per account. Provider
-- upload URLs are temporary, so an entry is only reused for a while (job_store::cached_upload).
CREATE TABLE uploads (
    account     text        NOT NULL,
    sha256      text        NOT NULL,
    url         text        NOT NULL,
    uploaded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account, sha256)
);
