/**
 * The lab's own state in SQLite (better-sqlite3 12.x): one row per node, holding its spec and one
 * JSON column per part of its state, so a change rewrites only the part that changed. The file is
 * `<stateDir>/lab.sqlite` (`:memory:` for a lab without a state directory). It is marked as
 * bmlab's with `PRAGMA application_id` and carries its schema version in `user_version`, so a
 * file that is not ours, is damaged, or was written by a newer bmlab is refused with an error
 * naming it — never wiped.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { BmlabError, createLogger } from '../../../common/src/index.ts';

const log = createLogger('lab:state');

/** 'bmlb' */
export const LAB_STATE_APPLICATION_ID = 0x626d6c62;
export const LAB_STATE_SCHEMA_VERSION = 1;

/** The parts of a node's state, each a JSON column. */
export const SECTIONS = ['bmc', 'sel', 'machine', 'faults'] as const;
export type Section = (typeof SECTIONS)[number];

export interface StoredNode {
  readonly name: string;
  readonly index: number;
  readonly spec: unknown;
  /** Each part as stored, parsed; absent when never written. */
  readonly sections: Partial<Record<Section, unknown>>;
}

/** The lab state file cannot be used; `file` names it. */
export class LabStateError extends BmlabError {
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super('ERR_LAB_STATE', `${file}: ${message}`, options);
    this.file = file;
  }
}

const SCHEMA = `
  CREATE TABLE nodes (
    name TEXT PRIMARY KEY,
    idx INTEGER NOT NULL,
    spec TEXT NOT NULL,
    bmc TEXT,
    sel TEXT,
    machine TEXT,
    faults TEXT,
    updated_at INTEGER NOT NULL
  );
`;

export class LabStateStore {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #update: Record<Section, Database.Statement>;

  private constructor(path: string, db: Database.Database) {
    this.path = path;
    this.#db = db;
    this.#update = Object.fromEntries(
      SECTIONS.map((s) => [s, db.prepare(`UPDATE nodes SET ${s} = ?, updated_at = ? WHERE name = ?`)]),
    ) as Record<Section, Database.Statement>;
  }

  /** Opens (or creates) the store at `path`; throws LabStateError for a file it must not touch. */
  static open(path = ':memory:'): LabStateStore {
    const memory = path === ':memory:';
    const existed = !memory && existsSync(path);
    if (!memory) mkdirSync(dirname(path), { recursive: true });
    let db: Database.Database;
    try {
      db = new Database(path);
    } catch (err) {
      throw new LabStateError(path, `cannot open: ${(err as Error).message}`, { cause: err });
    }
    try {
      LabStateStore.#prepare(db, path, existed);
      return new LabStateStore(path, db);
    } catch (err) {
      db.close();
      if (err instanceof LabStateError) throw err;
      throw new LabStateError(
        path,
        `is not a usable lab state database (${(err as Error).message}); move it away to start afresh`,
        { cause: err },
      );
    }
  }

  /** Checks what the file is before anything writes to it; creates the schema in a new file. */
  static #prepare(db: Database.Database, path: string, existed: boolean): void {
    // Reading the header is what fails on a file that is not SQLite (SQLITE_NOTADB) or is damaged.
    const appId = db.pragma('application_id', { simple: true }) as number;
    const version = db.pragma('user_version', { simple: true }) as number;
    const tables = (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
        name: string;
      }[]
    ).map((r) => r.name);
    if (appId === 0 && tables.length === 0) {
      LabStateStore.#tune(db);
      db.transaction(() => {
        db.exec(SCHEMA);
        db.pragma(`application_id = ${LAB_STATE_APPLICATION_ID}`);
        db.pragma(`user_version = ${LAB_STATE_SCHEMA_VERSION}`);
      })();
      log.debug('created %s', path);
      return;
    }
    if (appId !== LAB_STATE_APPLICATION_ID) {
      throw new LabStateError(
        path,
        `is not a bmlab lab state file (application_id ${appId}, tables: ${tables.join(', ') || 'none'}); move it away or choose another state directory`,
      );
    }
    if (version > LAB_STATE_SCHEMA_VERSION) {
      throw new LabStateError(
        path,
        `was written by a newer bmlab (schema ${version}; this one reads up to ${LAB_STATE_SCHEMA_VERSION})`,
      );
    }
    if (!tables.includes('nodes'))
      throw new LabStateError(path, 'lacks its nodes table: the file is damaged');
    const check = db.pragma('quick_check', { simple: true }) as string;
    if (check !== 'ok') throw new LabStateError(path, `fails its integrity check: ${check}`);
    LabStateStore.#tune(db);
    if (existed) log.debug('opened %s', path);
  }

  /**
   * WAL with synchronous=NORMAL: a commit is in the WAL before the call returns, so a lab that
   * stops or crashes loses nothing; only an OS crash can lose the last commits. FULL would fsync
   * every change (3-5 ms here), inside the event loop that answers IPMI.
   */
  static #tune(db: Database.Database): void {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }

  get(name: string): StoredNode | undefined {
    const row = this.#db.prepare('SELECT * FROM nodes WHERE name = ?').get(name) as
      | (Record<Section, string | null> & { name: string; idx: number; spec: string })
      | undefined;
    if (row === undefined) return undefined;
    const sections: Partial<Record<Section, unknown>> = {};
    try {
      for (const s of SECTIONS) {
        const v = row[s];
        if (v !== null) sections[s] = JSON.parse(v);
      }
      return { name: row.name, index: row.idx, spec: JSON.parse(row.spec), sections };
    } catch (err) {
      throw new LabStateError(this.path, `node '${name}' holds data that is not JSON: the file is damaged`, {
        cause: err,
      });
    }
  }

  names(): string[] {
    return (this.#db.prepare('SELECT name FROM nodes ORDER BY idx, name').all() as { name: string }[]).map(
      (r) => r.name,
    );
  }

  /** Records a node's spec (inserting the node when new); its state parts stay as they are. */
  putNode(name: string, index: number, spec: unknown): void {
    this.#db
      .prepare(
        `INSERT INTO nodes (name, idx, spec, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET idx = excluded.idx, spec = excluded.spec, updated_at = excluded.updated_at`,
      )
      .run(name, index, JSON.stringify(spec), Date.now());
  }

  /** Writes parts of one node's state (already JSON) in one transaction. */
  write(name: string, parts: Partial<Record<Section, string>>): void {
    const now = Date.now();
    this.#db.transaction(() => {
      for (const s of SECTIONS) {
        const v = parts[s];
        if (v !== undefined) this.#update[s].run(v, now, name);
      }
    })();
  }
}
