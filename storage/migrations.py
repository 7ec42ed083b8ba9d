"""Schema migrations, applied in order; never edit a released one, append."""

MIGRATIONS: list[str] = [
    # 1: knowledge, cases, journeys, the event log and the outbox.
    """
    CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);

    CREATE TABLE entries (
        id TEXT NOT NULL PRIMARY KEY,
        space TEXT NOT NULL,
        version INTEGER NOT NULL,
        status TEXT NOT NULL,              -- live | retired | pending
        questions TEXT NOT NULL,           -- JSON list
        answer TEXT NOT NULL,
        answer_key TEXT NOT NULL,          -- normalised answer, to find the same answer
        tags TEXT NOT NULL,                -- JSON list
        url TEXT,
        review_after TEXT,
        author TEXT,
        source_case TEXT,
        origin TEXT NOT NULL,              -- import | staff | correction
        private INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX entries_space_answer ON entries (space, answer_key);

    CREATE TABLE entry_versions (
        entry_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        snapshot TEXT NOT NULL,            -- JSON of the entry as it was
        author TEXT,
        source_case TEXT,
        at TEXT NOT NULL,
        PRIMARY KEY (entry_id, version)
    );

    CREATE TABLE forms (
        id INTEGER PRIMARY KEY,
        entry_id TEXT NOT NULL,
        space TEXT NOT NULL,
        text TEXT NOT NULL,
        vector BLOB NOT NULL,              -- float32, L2-normalised
        live INTEGER NOT NULL,
        author TEXT,
        source_case TEXT,
        at TEXT NOT NULL
    );
    CREATE INDEX forms_entry ON forms (entry_id);
    CREATE INDEX forms_live ON forms (live, space);

    CREATE TABLE form_changes (            -- the change feed replicas replay
        seq INTEGER PRIMARY KEY,
        form_id INTEGER NOT NULL,
        space TEXT NOT NULL,
        op TEXT NOT NULL                   -- add | remove
    );

    CREATE TABLE conflicts (
        a TEXT NOT NULL,
        b TEXT NOT NULL,
        space TEXT NOT NULL,
        status TEXT NOT NULL,              -- open | settled
        at TEXT NOT NULL,
        settled_at TEXT,
        PRIMARY KEY (a, b)
    );

    CREATE TABLE log (
        seq INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        at TEXT NOT NULL,
        space TEXT NOT NULL,
        case_key TEXT,
        event_id TEXT,
        body TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX log_case ON log (space, case_key);
    CREATE INDEX log_at ON log (at);

    CREATE TABLE events (
        space TEXT NOT NULL,
        id TEXT NOT NULL,
        log_seq INTEGER NOT NULL,
        status TEXT NOT NULL,              -- received | handled | failed
        PRIMARY KEY (space, id)
    );
    CREATE INDEX events_status ON events (status);

    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL,
        space TEXT NOT NULL,
        body TEXT NOT NULL,
        performed_at TEXT,
        ref TEXT
    );
    CREATE INDEX outbox_pending ON outbox (performed_at) WHERE performed_at IS NULL;

    CREATE TABLE cases (
        space TEXT NOT NULL,
        key TEXT NOT NULL,
        user TEXT NOT NULL,
        status TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        state TEXT NOT NULL,               -- JSON of the Case
        vector BLOB,                       -- the question's embedding (float32)
        PRIMARY KEY (space, key)
    );
    CREATE INDEX cases_status ON cases (space, status);
    CREATE INDEX cases_user ON cases (space, user);

    CREATE TABLE refs (                    -- platform messages we posted, and threads, to cases
        space TEXT NOT NULL,
        ref TEXT NOT NULL,
        case_key TEXT NOT NULL,
        what TEXT NOT NULL,                -- card | thread | dm
        PRIMARY KEY (space, ref)
    );

    CREATE TABLE journeys (
        space TEXT NOT NULL,
        user TEXT NOT NULL,
        state TEXT NOT NULL,               -- JSON of the Journey
        PRIMARY KEY (space, user)
    );
    """,
    # 2: small keyed values (e.g. vectors of configured examples, so start-up never re-embeds them).
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
    """,
    # 3: where an entry's text came from beyond a file (a past thread: platform, channel, date, link).
    """
    ALTER TABLE entries ADD COLUMN provenance TEXT;     -- JSON object, or NULL
    """,
    # 4: delivery: each action's key (sent with it, so a platform can tell a resend) and how often
    # it was attempted (an action attempted before is looked for on the platform before a resend).
    """
    ALTER TABLE outbox ADD COLUMN key TEXT;
    ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    """,
    # 5: documentation sections (their file and heading path), passages as searchable forms,
    # and a full-text index over every form's terms (see knowledge/lexical.py): one row per
    # form and term with its count, and the form's length in terms (NULL: not indexed),
    # from which BM25 is computed in portable SQL.
    """
    ALTER TABLE entries ADD COLUMN section TEXT;
    ALTER TABLE forms ADD COLUMN kind TEXT NOT NULL DEFAULT 'question';  -- question | passage
    ALTER TABLE forms ADD COLUMN terms_len INTEGER;
    CREATE TABLE form_terms (
        form_id INTEGER NOT NULL,
        term TEXT NOT NULL,
        tf INTEGER NOT NULL,
        PRIMARY KEY (form_id, term)
    );
    CREATE INDEX form_terms_term ON form_terms (term);
    """,
    # 6: the learning loop (issue 11): model versions, staged vectors, calibrators, observed outcomes,
    # lessons that are not question forms, and each entry's record of answers that kept working.
    """
    CREATE TABLE models (
        version INTEGER PRIMARY KEY,       -- 0 is the bundled model and has no row
        parent INTEGER NOT NULL,
        status TEXT NOT NULL,              -- promoted | rejected | rolled_back | staged
        at TEXT NOT NULL,                  -- the events' clock when it was trained
        body TEXT NOT NULL                 -- JSON: held-out figures, training figures, file
    );
    CREATE TABLE model_vectors (           -- a promoted model's vectors, staged before the swap
        model INTEGER NOT NULL,
        form_id INTEGER NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (model, form_id)
    );
    CREATE TABLE calibrators (
        space TEXT NOT NULL,
        model INTEGER NOT NULL,
        body TEXT NOT NULL,                -- JSON of learning.calibration.Calibrator
        at TEXT NOT NULL,
        PRIMARY KEY (space, model)
    );
    CREATE TABLE observations (            -- a decision's candidates, then what became of it
        space TEXT NOT NULL,
        case_key TEXT NOT NULL,
        model INTEGER NOT NULL,
        at TEXT NOT NULL,
        candidates TEXT NOT NULL,          -- JSON [{entry, features}] best first
        decision TEXT NOT NULL,
        outcome TEXT,                      -- the right entry (staff, pick, solved) or NULL
        wrong TEXT,                        -- an entry shown wrong (not solved, correction)
        PRIMARY KEY (space, case_key)
    );
    CREATE TABLE lessons (                 -- (question, entry) pairs that are not question forms
        id INTEGER PRIMARY KEY,
        space TEXT NOT NULL,
        entry_id TEXT NOT NULL,
        text TEXT NOT NULL,
        kind TEXT NOT NULL,                -- pick | solved
        at TEXT NOT NULL
    );
    CREATE TABLE entry_record (            -- survival: the bot's answers from an entry, and the failed ones
        entry_id TEXT PRIMARY KEY,
        space TEXT NOT NULL,
        answers INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0
    );
    """,
    # 7: reading a large store fast: a case's events by id (audit show, the console's case
    # page) and the open cases oldest first (the console's queue).
    """
    CREATE INDEX log_event ON log (space, event_id);
    CREATE INDEX cases_open ON cases (status, opened_at, space, key);
    """,
    # 8: several workers: an event's and an action's lease (which worker has it, until when, in ms
    # since the epoch), so a live worker takes over what a dead one left; an action's case, so one
    # worker sends a case's actions in order.
    """
    ALTER TABLE events ADD COLUMN worker TEXT;
    ALTER TABLE events ADD COLUMN lease_until INTEGER;
    ALTER TABLE outbox ADD COLUMN case_key TEXT;
    ALTER TABLE outbox ADD COLUMN worker TEXT;
    ALTER TABLE outbox ADD COLUMN lease_until INTEGER;
    """,
    # 9: a lesson remembers the case that taught it, and when it was withdrawn (the answer it
    # taught met Not solved): a withdrawn lesson is kept but no longer a training pair.
    """
    ALTER TABLE lessons ADD COLUMN case_key TEXT;
    ALTER TABLE lessons ADD COLUMN withdrawn TEXT;
    CREATE INDEX lessons_case ON lessons (space, case_key);
    """,
    # 10: the newest decisions of a space, read at start-up by the asking budget (bot/asking.py).
    """
    CREATE INDEX log_kind ON log (space, kind, seq);
    """,
    # 11: an entry's record also counts the answers of the answer it gives now apart (by its
    # answer key): survival judges that answer, so an entry whose answer staff changed starts
    # afresh, and one renewed or given new questions does not. The lifetime counts stay (the
    # measured wrong rate). An existing record becomes its entry's current answer's (the cautious
    # reading: an entry held back before stays held back until its answer changes).
    """
    ALTER TABLE entry_record ADD COLUMN answer_key TEXT NOT NULL DEFAULT '';
    ALTER TABLE entry_record ADD COLUMN answers_now INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE entry_record ADD COLUMN failed_now INTEGER NOT NULL DEFAULT 0;
    UPDATE entry_record
        SET answer_key = coalesce((SELECT e.answer_key FROM entries e WHERE e.id = entry_record.entry_id), ''),
            answers_now = answers, failed_now = failed;
    """,
]
