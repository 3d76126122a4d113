import GRDB

/// The SQLite schema, as an ordered list of migrations. Applied migrations are recorded by GRDB in
/// `grdb_migrations`; a migration, once released, never changes: schema changes are new migrations
/// appended to the list (`v2-…`, `v3-…`).
///
/// Conventions: `STRICT` tables; times are INTEGER milliseconds since 1970; SPIFFE IDs are their
/// URI text; lists (selectors, DNS names, audiences) are canonical JSON arrays of strings, selectors
/// sorted and without duplicates so that equal sets have equal text (the entries' unique index
/// relies on it).
enum SQLiteSchema {
    /// Identifiers of the migrations this build knows, oldest first.
    static var knownMigrations: [String] { migrator.migrations }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        // Never drop data because the schema differs from what the code expects.
        migrator.eraseDatabaseOnSchemaChange = false
        migrator.registerMigration("v1-initial") { db in
            try db.execute(sql: v1Initial)
        }
        migrator.registerMigration("v2-revocation") { db in
            try db.execute(sql: v2Revocation)
        }
        migrator.registerMigration("v3-agent-previous-serial") { db in
            try db.execute(sql: v3AgentPreviousSerial)
        }
        migrator.registerMigration("v4-tpm-enrolments") { db in
            try db.execute(sql: v4TPMEnrolments)
        }
        migrator.registerMigration("v5-audit-heads") { db in
            try db.execute(sql: v5AuditHeads)
        }
        return migrator
    }

    private static let v1Initial = """
        CREATE TABLE entries (
            id          TEXT    NOT NULL PRIMARY KEY,
            spiffe_id   TEXT    NOT NULL,
            parent_id   TEXT    NOT NULL,
            selectors   TEXT    NOT NULL,
            x509_ttl    INTEGER NOT NULL,
            jwt_ttl     INTEGER NOT NULL,
            dns_names   TEXT    NOT NULL,
            audiences   TEXT    NOT NULL,
            nested      INTEGER NOT NULL CHECK (nested IN (0, 1)),
            revision    INTEGER NOT NULL,
            created_at  INTEGER NOT NULL
        ) STRICT;
        CREATE UNIQUE INDEX entries_identity ON entries (spiffe_id, parent_id, selectors);
        CREATE INDEX entries_by_spiffe_id ON entries (spiffe_id, id);
        CREATE INDEX entries_by_parent_id ON entries (parent_id, spiffe_id, id);

        CREATE TABLE agents (
            spiffe_id         TEXT    NOT NULL PRIMARY KEY,
            attestation_type  TEXT    NOT NULL,
            selectors         TEXT    NOT NULL,
            serial_number     TEXT    NOT NULL,
            expires_at        INTEGER NOT NULL,
            created_at        INTEGER NOT NULL,
            last_attested_at  INTEGER NOT NULL,
            can_reattest      INTEGER NOT NULL CHECK (can_reattest IN (0, 1)),
            evicted           INTEGER NOT NULL CHECK (evicted IN (0, 1))
        ) STRICT;

        CREATE TABLE join_tokens (
            token_hash  TEXT    NOT NULL PRIMARY KEY,
            agent_id    TEXT    NOT NULL,
            alias       TEXT,
            expires_at  INTEGER NOT NULL,
            created_at  INTEGER NOT NULL,
            used_at     INTEGER
        ) STRICT;

        CREATE TABLE authorities (
            id               TEXT    NOT NULL PRIMARY KEY,
            kind             TEXT    NOT NULL CHECK (kind IN ('x509', 'jwt')),
            private_key_pem  TEXT    NOT NULL,
            certificate_der  BLOB    NOT NULL,
            key_id           TEXT    NOT NULL,
            not_before       INTEGER NOT NULL,
            not_after        INTEGER NOT NULL,
            state            TEXT    NOT NULL CHECK (state IN ('prepared', 'active', 'retired')),
            created_at       INTEGER NOT NULL
        ) STRICT;

        CREATE TABLE issued_svids (
            serial_number  TEXT    NOT NULL PRIMARY KEY,
            kind           TEXT    NOT NULL CHECK (kind IN ('x509', 'jwt')),
            spiffe_id      TEXT    NOT NULL,
            entry_id       TEXT,
            requested_by   TEXT,
            issued_at      INTEGER NOT NULL,
            expires_at     INTEGER NOT NULL,
            revoked_at     INTEGER
        ) STRICT;
        CREATE INDEX issued_svids_by_spiffe_id ON issued_svids (spiffe_id, expires_at);
        CREATE INDEX issued_svids_by_expiry ON issued_svids (expires_at);

        CREATE TABLE meta (
            key    TEXT NOT NULL PRIMARY KEY,
            value  ANY
        ) STRICT;

        CREATE TABLE audit_log (
            sequence       INTEGER NOT NULL PRIMARY KEY,
            kind           TEXT    NOT NULL,
            actor          TEXT    NOT NULL,
            subject        TEXT    NOT NULL,
            details        TEXT    NOT NULL,
            time           INTEGER NOT NULL,
            previous_hash  TEXT    NOT NULL,
            hash           TEXT    NOT NULL
        ) STRICT;
        CREATE INDEX audit_log_by_subject ON audit_log (subject, sequence);
        """

    /// Revocation: who revoked an SVID and why, which CA signed it (for its CRL), its key, and the
    /// layers of its lineage (so a subtree can be found by an ancestor's SPIFFE ID or key).
    /// `depth` orders the ancestors, outermost first (0).
    private static let v2Revocation = """
        ALTER TABLE issued_svids ADD COLUMN public_key_hash TEXT;
        ALTER TABLE issued_svids ADD COLUMN issuer_key_id TEXT;
        ALTER TABLE issued_svids ADD COLUMN revocation_reason TEXT;
        ALTER TABLE issued_svids ADD COLUMN revoked_by TEXT;
        CREATE INDEX issued_svids_revoked ON issued_svids (expires_at) WHERE revoked_at IS NOT NULL;
        CREATE INDEX issued_svids_by_key_hash ON issued_svids (public_key_hash) WHERE public_key_hash IS NOT NULL;

        CREATE TABLE issued_svid_ancestors (
            serial_number       TEXT    NOT NULL REFERENCES issued_svids (serial_number) ON DELETE CASCADE,
            depth               INTEGER NOT NULL CHECK (depth >= 0),
            ancestor_spiffe_id  TEXT    NOT NULL,
            ancestor_key_hash   TEXT    NOT NULL,
            PRIMARY KEY (serial_number, depth)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX issued_svid_ancestors_by_spiffe_id ON issued_svid_ancestors (ancestor_spiffe_id);
        CREATE INDEX issued_svid_ancestors_by_key_hash ON issued_svid_ancestors (ancestor_key_hash);
        """

    /// The serial number of an agent's SVID before its last renewal, honoured until it expires.
    private static let v3AgentPreviousSerial = """
        ALTER TABLE agents ADD COLUMN previous_serial_number TEXT;
        """

    /// TPMs enrolled through the admin API (`matryoshka server tpm allow`): the EK hash, the PCR
    /// values the node must quote (canonical JSON object, index → hex) and its labels (canonical
    /// JSON array of selectors). And why an agent is untrusted (it failed continuous attestation):
    /// it may not attest again until an operator re-enrols it.
    private static let v4TPMEnrolments = """
        CREATE TABLE tpm_enrolments (
            ek_hash     TEXT    NOT NULL PRIMARY KEY,
            pcr_policy  TEXT    NOT NULL,
            labels      TEXT    NOT NULL,
            created_at  INTEGER NOT NULL
        ) STRICT;
        ALTER TABLE agents ADD COLUMN untrusted_reason TEXT;
        """

    /// Signed audit chain heads: the server's CA key signs "record `sequence` has hash `hash`"
    /// (see ``SignedAuditHead``) at intervals and on shutdown; `certificate` is the signing CA's
    /// certificate (DER), so heads signed before a CA rotation still verify.
    private static let v5AuditHeads = """
        CREATE TABLE audit_heads (
            sequence     INTEGER NOT NULL PRIMARY KEY,
            hash         TEXT    NOT NULL,
            signed_at    INTEGER NOT NULL,
            signature    BLOB    NOT NULL,
            certificate  BLOB    NOT NULL,
            key_id       TEXT    NOT NULL
        ) STRICT;
        """
}
