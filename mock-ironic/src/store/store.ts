import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { createLogger } from '../../../common/src/index.ts';
import type { NodeRecord, PortRecord } from './records.ts';

const log = createLogger('mock-ironic:store');

/**
 * The mock's database: nodes and ports in SQLite (one file under the state directory, `:memory:` for
 * tests). Each row keeps the whole record as JSON plus the columns the API filters and looks up by;
 * every write is a synchronous transaction, so a crash loses no acknowledged change.
 */
export class IronicStore {
  readonly #db: Database.Database;

  constructor(path = ':memory:') {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS nodes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        uuid TEXT NOT NULL UNIQUE,
        name TEXT UNIQUE,
        data TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS ports (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        uuid TEXT NOT NULL UNIQUE,
        address TEXT NOT NULL UNIQUE,
        node_uuid TEXT NOT NULL,
        data TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS ports_node ON ports(node_uuid);
    `);
    log.debug('opened %s', path);
  }

  close(): void {
    this.#db.close();
  }

  /** Nodes in creation order (Ironic sorts by id by default). */
  listNodes(): NodeRecord[] {
    const rows = this.#db.prepare('SELECT data FROM nodes ORDER BY id').all() as { data: string }[];
    return rows.map((r) => JSON.parse(r.data) as NodeRecord);
  }

  getNode(uuid: string): NodeRecord | undefined {
    const row = this.#db.prepare('SELECT data FROM nodes WHERE uuid = ?').get(uuid) as
      | { data: string }
      | undefined;
    return row ? (JSON.parse(row.data) as NodeRecord) : undefined;
  }

  getNodeByName(name: string): NodeRecord | undefined {
    const row = this.#db.prepare('SELECT data FROM nodes WHERE name = ?').get(name) as
      | { data: string }
      | undefined;
    return row ? (JSON.parse(row.data) as NodeRecord) : undefined;
  }

  insertNode(node: NodeRecord): void {
    this.#db
      .prepare('INSERT INTO nodes (uuid, name, data) VALUES (?, ?, ?)')
      .run(node.uuid, node.name, JSON.stringify(node));
  }

  saveNode(node: NodeRecord): void {
    this.#db
      .prepare('UPDATE nodes SET name = ?, data = ? WHERE uuid = ?')
      .run(node.name, JSON.stringify(node), node.uuid);
  }

  deleteNode(uuid: string): void {
    this.#db.transaction(() => {
      this.#db.prepare('DELETE FROM ports WHERE node_uuid = ?').run(uuid);
      this.#db.prepare('DELETE FROM nodes WHERE uuid = ?').run(uuid);
    })();
  }

  listPorts(nodeUuid?: string): PortRecord[] {
    const rows = (
      nodeUuid === undefined
        ? this.#db.prepare('SELECT data FROM ports ORDER BY id').all()
        : this.#db.prepare('SELECT data FROM ports WHERE node_uuid = ? ORDER BY id').all(nodeUuid)
    ) as { data: string }[];
    return rows.map((r) => JSON.parse(r.data) as PortRecord);
  }

  getPort(uuid: string): PortRecord | undefined {
    const row = this.#db.prepare('SELECT data FROM ports WHERE uuid = ?').get(uuid) as
      | { data: string }
      | undefined;
    return row ? (JSON.parse(row.data) as PortRecord) : undefined;
  }

  getPortByAddress(address: string): PortRecord | undefined {
    const row = this.#db.prepare('SELECT data FROM ports WHERE address = ?').get(address) as
      | { data: string }
      | undefined;
    return row ? (JSON.parse(row.data) as PortRecord) : undefined;
  }

  insertPort(port: PortRecord): void {
    this.#db
      .prepare('INSERT INTO ports (uuid, address, node_uuid, data) VALUES (?, ?, ?, ?)')
      .run(port.uuid, port.address, port.node_uuid, JSON.stringify(port));
  }

  savePort(port: PortRecord): void {
    this.#db
      .prepare('UPDATE ports SET address = ?, node_uuid = ?, data = ? WHERE uuid = ?')
      .run(port.address, port.node_uuid, JSON.stringify(port), port.uuid);
  }

  deletePort(uuid: string): void {
    this.#db.prepare('DELETE FROM ports WHERE uuid = ?').run(uuid);
  }
}
